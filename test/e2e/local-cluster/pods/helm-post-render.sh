#!/usr/bin/env bash
# helm --post-renderer for the local-cluster e2e: passes the chart's rendering (stdin) through the same test-only
# component as the kustomize forms (pods/bridge: host network, the API server on loopback, state under the e2e
# root) and prints the result. Everything else is the chart as rendered.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
mkdir -p "$repo/.run"
dir=$(mktemp -d "$repo/.run/helm-post-render.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cat > "$dir/chart.yaml"
# kustomize refuses absolute paths to components
printf 'resources:\n  - chart.yaml\ncomponents:\n  - %s\n' "$(realpath --relative-to="$dir" "$here/bridge")" \
  > "$dir/kustomization.yaml"
"$repo/.tools/e2e/bin/kubectl" kustomize "$dir"
