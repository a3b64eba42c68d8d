#!/usr/bin/env bash
# Installs what the local-cluster e2e (test/e2e/local-cluster) needs, all into .tools/e2e (nothing system-wide):
#   debian/   etcd, containerd, runc, the CNI plugins, busybox-static, and coreutils, dash and libc6 (GNU dd and a
#             shell that runs it, for one test image of Kubernetes' storage suite, build-images.sh), unpacked from Debian's packages with
#             `apt-get download` + `dpkg -x` (not installed: installing etcd-server would start a system etcd, and
#             the e2e must not leave services or packages behind on a machine other people use)
#   bin/      Kubernetes and the CSI sidecars built from the Go module proxy (build-binaries.sh)
#   images/   the pause and test images as OCI archives (build-images.sh)
# Idempotent: a package already unpacked at the candidate version is not fetched again; binaries and images have
# their own stamps. Needs root (apt-get), Go and gcc.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(etcd-server containerd runc containernetworking-plugins busybox-static coreutils dash libc6)
debian="$PWD/.tools/e2e/debian"
mkdir -p "$debian"

candidate() { # package -> the version apt would download
  apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '(none)' || true
}

unpack_debian_packages() {
  local pkg version missing=()
  if [ -z "$(candidate "${DEBIAN_PACKAGES[0]}")" ]; then apt-get update -qq; fi
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    version=$(candidate "$pkg")
    [ -n "$version" ] || { echo "Debian package $pkg is not available" >&2; return 1; }
    [ "$(cat "$debian/.$pkg.version" 2>/dev/null)" = "$version" ] || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return
  echo "unpacking Debian packages: ${missing[*]}"
  local tmp
  tmp=$(mktemp -d /tmp/hostpath-csi-e2e-debs.XXXXXX)
  chmod 0755 "$tmp" # apt downloads as the _apt user
  (cd "$tmp" && apt-get download -qq "${missing[@]}")
  for pkg in "${missing[@]}"; do
    dpkg -x "$tmp/${pkg}_"*.deb "$debian/root"
    candidate "$pkg" > "$debian/.$pkg.version"
  done
  rm -rf "$tmp"
}

unpack_debian_packages
bash test/e2e/local-cluster/build-binaries.sh
bash test/e2e/local-cluster/build-images.sh
