#!/usr/bin/env bash
# Installs the pinned Go tools the tests need into .tools/bin (csi-sanity for now). Idempotent: a tool already built
# at the pinned version is not rebuilt. Needs Go and the Go module proxy; nothing else is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."

CSI_SANITY_VERSION=v5.5.0

bin="$PWD/.tools/bin"
mkdir -p "$bin"

install_go_tool() { # name module version
  local name=$1 module=$2 version=$3 stamp="$bin/.$1.version"
  if [ -x "$bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then return; fi
  echo "installing $name $version"
  GOBIN="$bin" GOFLAGS=-mod=mod go install "$module@$version"
  echo "$version" > "$stamp"
}

install_go_tool csi-sanity github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity "$CSI_SANITY_VERSION"
