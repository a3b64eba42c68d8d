#!/usr/bin/env bash
# Renders the Grafana dashboard (deploy/grafana/hostpath-csi.json) to docs/dashboard.png from real data, by hand and
# never in CI: builds the driver, installs Prometheus from the Go module proxy into .tools/bin (Grafana cannot be had
# on these machines), starts the driver with --metrics-address on a temporary state directory, has Prometheus (on
# 127.0.0.1, its TSDB in the same temporary directory) scrape it during a few minutes of load, evaluates every
# panel's PromQL through Prometheus' query_range API and draws the panels in the dashboard's grid
# (docs/tools/dashboard/). Needs root: the load stages and publishes volumes (bind mounts, loop devices); everything
# is unmounted, detached, stopped and removed before it exits.
#   scripts/render-dashboard.sh [--minutes 4] [--out docs/dashboard.png] [--data run.json]
#   scripts/render-dashboard.sh --from run.json      # draw again from a kept run, without a new one
set -euo pipefail
cd "$(dirname "$0")/.."

# github.com/prometheus/prometheus tags Prometheus 3.x as Go module versions v0.3xx.y.
PROMETHEUS_VERSION=v0.316.0
bin="$PWD/.tools/bin"
mkdir -p "$bin"
if [ ! -x "$bin/prometheus" ] || [ "$(cat "$bin/.prometheus.version" 2>/dev/null)" != "$PROMETHEUS_VERSION" ]; then
  echo "installing prometheus $PROMETHEUS_VERSION (a few minutes of compiling)"
  GOBIN="$bin" GOFLAGS=-mod=mod go install "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_VERSION"
  echo "$PROMETHEUS_VERSION" > "$bin/.prometheus.version"
fi

npm run --silent build
exec npx vite-node docs/tools/dashboard/main.ts -- "$@"
