#!/usr/bin/env bash
# Builds the two container images the local-cluster e2e needs, without a registry or a container builder, as OCI
# image archives in .tools/e2e/images (up.sh imports them with `ctr -n k8s.io images import`):
#   pause.tar    localhost/hostpath-csi-e2e/pause   Kubernetes' own pause.c (from the k8s.io/kubernetes module at
#                                                   the pinned version), compiled static with gcc
#   busybox.tar  localhost/hostpath-csi-e2e/busybox Debian's busybox-static, with a link for every applet
# Layers are reproducible (sorted, mtime 0, owner 0): the same inputs give the same digests. A stamp over the
# inputs skips the build when nothing changed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
# shellcheck source=versions.sh
. "$here/versions.sh"

out="$root/.tools/e2e/images"
busybox="$root/.tools/e2e/debian/root/bin/busybox"
pause_src=$(cd "$here/k8s" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/build/pause/linux/pause.c
mkdir -p "$out"

stamp=$(cat "$0" "$busybox" "$pause_src" | sha256sum | cut -c1-16)
if [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ] && [ -f "$out/pause.tar" ] && [ -f "$out/busybox.tar" ]; then
  exit 0
fi

work=$(mktemp -d /tmp/hostpath-csi-e2e-images.XXXXXX)
trap 'rm -rf "$work"' EXIT

blob() { # file -> moves it into the layout's blobs, prints "sha256:<hex> <size>"
  local hex size
  hex=$(sha256sum "$1" | cut -d' ' -f1)
  size=$(stat -c %s "$1")
  mv "$1" "$layout/blobs/sha256/$hex"
  echo "sha256:$hex $size"
}

oci_archive() { # name image-ref rootfs-dir entrypoint-json
  local name=$1 ref=$2 rootfs=$3 entrypoint=$4
  layout="$work/$name-layout"
  mkdir -p "$layout/blobs/sha256"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$work/layer.tar" .
  local diff_id layer config manifest
  diff_id=sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  gzip -n -9 "$work/layer.tar"
  layer=$(blob "$work/layer.tar.gz")
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":%s,"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["%s"]}}' \
    "$entrypoint" "$diff_id" > "$work/config.json"
  config=$(blob "$work/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
    "${config% *}" "${config#* }" "${layer% *}" "${layer#* }" > "$work/manifest.json"
  manifest=$(blob "$work/manifest.json")
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "${manifest% *}" "${manifest#* }" "$ref" "${ref##*:}" > "$layout/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$layout" -cf "$out/$name.tar.tmp" .
  mv "$out/$name.tar.tmp" "$out/$name.tar"
  echo "built $ref ($out/$name.tar)"
}

mkdir -p "$work/pause-root" "$work/busybox-root/bin" "$work/busybox-root/tmp"
gcc -Os -Wall -Werror -static -DVERSION="$K8S_VERSION-hostpath-csi-e2e" -o "$work/pause-root/pause" "$pause_src"
oci_archive pause "$PAUSE_IMAGE" "$work/pause-root" '["/pause"]'

install -m 0755 "$busybox" "$work/busybox-root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$work/busybox-root/bin/$applet"
done
chmod 1777 "$work/busybox-root/tmp"
oci_archive busybox "$TEST_IMAGE" "$work/busybox-root" '["/bin/sh"]'

echo "$stamp" > "$out/.stamp"
