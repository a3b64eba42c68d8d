#!/usr/bin/env bash
# Installs the upstream Go reference driver (csi-driver-host-path's hostpathplugin) at a pinned release into
# .tools/bin, for the bench to compare against. `go install pkg@version` refuses modules whose go.mod has replace
# directives (this one has many), so the fallback builds from the module source `go mod download` fetched.
# Idempotent. Exits non-zero, saying why, when the module cannot be had (the bench then reports it as unavailable).
set -euo pipefail
cd "$(dirname "$0")/.."

REF_MODULE=github.com/kubernetes-csi/csi-driver-host-path
REF_VERSION=v1.17.0

bin="$PWD/.tools/bin"
stamp="$bin/.hostpathplugin.version"
mkdir -p "$bin"
if [ -x "$bin/hostpathplugin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$REF_VERSION" ]; then exit 0; fi

echo "installing hostpathplugin $REF_VERSION" >&2
if GOBIN="$bin" go install "$REF_MODULE/cmd/hostpathplugin@$REF_VERSION" 2>/tmp/hostpathplugin-install.$$; then
  echo "$REF_VERSION" > "$stamp"
  rm -f /tmp/hostpathplugin-install.$$
  exit 0
fi
cat /tmp/hostpathplugin-install.$$ >&2
rm -f /tmp/hostpathplugin-install.$$
echo "go install refused; building from the downloaded module source" >&2
json=$(GOFLAGS=-mod=mod go mod download -json "$REF_MODULE@$REF_VERSION" || true)
dir=$(printf '%s\n' "$json" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
if [ -z "$dir" ]; then
  printf '%s\n' "$json" | sed -n 's/^\t"Error": //p' >&2
  echo "the module $REF_MODULE@$REF_VERSION could not be downloaded" >&2
  exit 1
fi
work=$(mktemp -d /tmp/hostpathplugin-src.XXXXXX)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cp -r "$dir/." "$work" && chmod -R u+w "$work"
(cd "$work" && go build -o "$bin/hostpathplugin" ./cmd/hostpathplugin)
echo "$REF_VERSION" > "$stamp"
