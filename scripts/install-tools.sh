#!/usr/bin/env bash
# Installs what the tests need: the pinned Go tools into .tools/bin (csi-sanity), and the Debian packages the
# integration tests make filesystems with (xfsprogs for XFS with reflink; e2fsprogs and util-linux are on every
# Debian). Idempotent: a tool already built at the pinned version is not rebuilt, a package present is not fetched.
set -euo pipefail
cd "$(dirname "$0")/.."

# csi-sanity on CSI v1.12 (v5.5.0) and the newest v5 the Go proxy serves (v5.6.0, CSI v1.13): test/sanity/run.sh runs
# its matrix with each. The newer one is installed under its versioned name, as `go install` names both csi-sanity.
CSI_SANITY_VERSION=v5.5.0
CSI_SANITY_NEXT_VERSION=v5.6.0

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

install_renamed_go_tool() { # name module version (the binary go builds is the module's last path element)
  local name=$1 module=$2 version=$3 stamp="$bin/.$1.version" tmp
  if [ -x "$bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then return; fi
  echo "installing $name $version"
  tmp=$(mktemp -d)
  GOBIN="$tmp" GOFLAGS=-mod=mod go install "$module@$version"
  mv "$tmp/$(basename "$module")" "$bin/$name"
  rm -rf "$tmp"
  echo "$version" > "$stamp"
}
install_renamed_go_tool "csi-sanity-$CSI_SANITY_NEXT_VERSION" github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity "$CSI_SANITY_NEXT_VERSION"

need_pkgs=()
command -v mkfs.xfs >/dev/null || need_pkgs+=(xfsprogs)
command -v mkfs.ext4 >/dev/null || need_pkgs+=(e2fsprogs)
command -v losetup >/dev/null || need_pkgs+=(util-linux)
command -v getfattr >/dev/null || need_pkgs+=(attr)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing ${need_pkgs[*]}: install them (the filesystem tests are skipped without them)" >&2
  else
    echo "installing ${need_pkgs[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  fi
fi
