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

# shellcheck source=scripts/lib/debian-unpack.sh
. scripts/lib/debian-unpack.sh

debian_unpack "$debian" "${DEBIAN_PACKAGES[@]}"
bash test/e2e/local-cluster/build-binaries.sh
bash test/e2e/local-cluster/build-images.sh
