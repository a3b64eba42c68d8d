#!/usr/bin/env bash
# Installs the pinned tools the deploy tests (test/deploy) render manifests with, into .tools/bin, built from the Go
# module proxy (no prebuilt binaries, no /usr/bin/kubectl):
#   kustomize  sigs.k8s.io/kustomize/kustomize/v5
#   helm       helm.sh/helm/v3/cmd/helm
#   actionlint github.com/rhysd/actionlint/cmd/actionlint (lints .github/workflows, which cannot run here)
#   yaml2json  test/deploy/yaml2json (sigs.k8s.io/yaml, the YAML library kubectl uses), so the tests parse YAML
#              without a YAML parser among the npm dependencies
# Idempotent: a tool already built at the pinned version with the same build flags (stamp file
# .tools/bin/.<name>.version) is not rebuilt.
# Needs Go >= 1.26 (the pinned helm and kustomize declare it); GOTOOLCHAIN is left as the machine has it.
set -euo pipefail
cd "$(dirname "$0")/.."

KUSTOMIZE_VERSION=v5.8.2
HELM_VERSION=v3.21.4
ACTIONLINT_VERSION=v1.7.12
# The Kubernetes version helm assumes without a cluster (helm template, helm lint): helm's Makefile derives it from
# the k8s.io/client-go in its go.mod (v0.36 for v3.21.4); without it a source build would assume 1.20.
HELM_K8S_MAJOR=1 HELM_K8S_MINOR=36

bin="$PWD/.tools/bin"
mkdir -p "$bin"

up_to_date() { # name version
  [ -x "$bin/$1" ] && [ "$(cat "$bin/.$1.version" 2>/dev/null)" = "$2" ]
}

# go install refuses modules whose go.mod has replace directives; then build inside the downloaded module instead.
install_go_tool() { # name module package-dir-in-module version ldflags
  local name=$1 module=$2 pkg=$3 version=$4 ldflags=${5//$'\n'/ }
  local stamp
  stamp="$version $(printf '%s' "$ldflags" | sha256sum | cut -c1-12)"
  if up_to_date "$name" "$stamp"; then return; fi
  echo "installing $name $version"
  if ! GOBIN="$bin" GOFLAGS=-mod=mod go install -ldflags "$ldflags" "${module}${pkg:+/$pkg}@$version"; then
    echo "go install failed; building $name inside the downloaded module"
    local dir
    dir=$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download -json "$module@$version" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    (cd "$dir" && GOFLAGS=-mod=mod go build -ldflags "$ldflags" -o "$bin/$name" "./${pkg:-.}")
  fi
  echo "$stamp" > "$bin/.$name.version"
}

install_go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 "" "$KUSTOMIZE_VERSION" \
  "-s -w -X sigs.k8s.io/kustomize/api/provenance.version=$KUSTOMIZE_VERSION"
install_go_tool helm helm.sh/helm/v3 cmd/helm "$HELM_VERSION" \
  "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION
   -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$HELM_K8S_MAJOR
   -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$HELM_K8S_MINOR
   -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$HELM_K8S_MAJOR
   -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$HELM_K8S_MINOR"
install_go_tool actionlint github.com/rhysd/actionlint cmd/actionlint "$ACTIONLINT_VERSION" \
  "-s -w -X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION"

# yaml2json is this repository's own source: its stamp is a hash of that source.
y2j_src=test/deploy/yaml2json
y2j_version=$(cat "$y2j_src/main.go" "$y2j_src/go.mod" "$y2j_src/go.sum" | sha256sum | cut -c1-16)
if ! up_to_date yaml2json "$y2j_version"; then
  echo "building yaml2json"
  (cd "$y2j_src" && GOFLAGS=-mod=mod go build -o "$bin/yaml2json" .)
  echo "$y2j_version" > "$bin/.yaml2json.version"
fi
