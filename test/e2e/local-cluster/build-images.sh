#!/usr/bin/env bash
# Builds the container images the local-cluster e2e needs, without a registry or a container builder, as OCI
# image archives in .tools/e2e/images, each with a .ref file naming it (up.sh imports them with
# `ctr -n k8s.io images import` and pins them):
#   pause.tar    localhost/hostpath-csi-e2e/pause   Kubernetes' own pause.c (from the k8s.io/kubernetes module at
#                                                   the pinned version), compiled static with gcc
#   busybox.tar  localhost/hostpath-csi-e2e/busybox Debian's busybox-static, with a link for every applet
#   <sidecar>.tar  registry.k8s.io/sig-storage/<sidecar>:<tag deploy/ pins>  the static binary build-binaries.sh
#                  made, alone (plus an empty /tmp), as upstream's distroless-static images hold it; tagged exactly
#                  as the manifests name them so their `imagePullPolicy: IfNotPresent` finds them. The registrar and
#                  livenessprobe images hold this repository's stand-ins under the upstream names, and csi-resizer
#                  holds v2.2.0 under the v2.2.1 tag (versions.sh says why).
#   snapshot-controller.tar  tagged as the snapshot-controller Deployment of the pinned external-snapshotter names it
#   the images Kubernetes' e2e.test (External Storage) names, under exactly its names and tags (`e2e.test
#   --list-images`; its pods use imagePullPolicy IfNotPresent, so kubelet finds them here):
#     e2e-test-images/agnhost:2.63.0  agnhost built from the k8s.io/kubernetes module, on the busybox root (upstream:
#                                     on alpine) with its ENTRYPOINT /agnhost and CMD pause
#     e2e-test-images/busybox:1.37.0-1  the busybox root above
#     e2e-test-images/nginx:1.15-4    the busybox root too: the one storage spec that names it (volumes.go's exec
#                                     test) gives its own shell command and never runs nginx
#     e2e-test-images/glibc-dns-testing:2.0.0  the busybox root with GNU dd, dash as /bin/sh and glibc from Debian
#                                     (coreutils, dash, libc6): multivolume.go's concurrent pods read and write block
#                                     devices with `dd iflag=direct` / `oflag=nocache`, which busybox's dd lacks (and
#                                     busybox's sh runs its own dd whatever PATH says)
#     registry.k8s.io/pause:3.10.2    the pause root above
# Layers are reproducible (sorted, mtime 0, owner 0): the same inputs give the same digests. A stamp over the
# inputs skips the build when nothing changed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
# shellcheck source=versions.sh
. "$here/versions.sh"

out="$root/.tools/e2e/images"
debian="$root/.tools/e2e/debian/root"
busybox="$debian/bin/busybox"
pause_src=$(cd "$here/k8s" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/build/pause/linux/pause.c
mkdir -p "$out"

bin="$root/.tools/e2e/bin"
# image name -> binary in .tools/e2e/bin and the tag the manifests pin
sidecars=(
  "csi-provisioner csi-provisioner $(sidecar_version csi-provisioner)"
  "csi-attacher csi-attacher $(sidecar_version csi-attacher)"
  "csi-resizer csi-resizer $(sidecar_version csi-resizer)"
  "csi-snapshotter csi-snapshotter $(sidecar_version csi-snapshotter)"
  "csi-snapshot-metadata csi-snapshot-metadata $(sidecar_version csi-snapshot-metadata)"
  "csi-node-driver-registrar hostpath-csi-registrar $(sidecar_version csi-node-driver-registrar)"
  "livenessprobe hostpath-csi-livenessprobe $(sidecar_version livenessprobe)"
  "snapshot-controller snapshot-controller $(sed -n 's#.*image: registry\.k8s\.io/sig-storage/snapshot-controller:##p' \
    "$root/.tools/e2e/snapshot-controller/setup-snapshot-controller.yaml")"
)

stamp=$( (cat "$0" "$busybox" "$pause_src"; printf '%s\n' "${sidecars[@]}"
  for s in "${sidecars[@]}"; do read -r _ b _ <<< "$s"; cat "$bin/$b"; done; cat "$bin/agnhost" "$debian/bin/dd" "$debian/bin/dash" "$debian/lib/x86_64-linux-gnu/libc.so.6") | sha256sum | cut -c1-16)
all_built() {
  local name
  for name in pause busybox pause-e2e busybox-e2e nginx-e2e glibc-dns-testing-e2e agnhost-e2e $(printf '%s\n' "${sidecars[@]}" | cut -d' ' -f1); do
    [ -f "$out/$name.tar" ] && [ -f "$out/$name.ref" ] || return 1
  done
}
if [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ] && all_built; then
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

oci_archive() { # name image-ref rootfs-dir entrypoint-json [cmd-json]
  local name=$1 ref=$2 rootfs=$3 entrypoint=$4 cmd=${5:-null}
  layout="$work/$name-layout"
  mkdir -p "$layout/blobs/sha256"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$work/layer.tar" .
  local diff_id layer config manifest
  diff_id=sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  gzip -n -9 "$work/layer.tar"
  layer=$(blob "$work/layer.tar.gz")
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":%s,"Cmd":%s,"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["%s"]}}' \
    "$entrypoint" "$cmd" "$diff_id" > "$work/config.json"
  config=$(blob "$work/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
    "${config% *}" "${config#* }" "${layer% *}" "${layer#* }" > "$work/manifest.json"
  manifest=$(blob "$work/manifest.json")
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "${manifest% *}" "${manifest#* }" "$ref" "${ref##*:}" > "$layout/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$layout" -cf "$out/$name.tar.tmp" .
  mv "$out/$name.tar.tmp" "$out/$name.tar"
  echo "$ref" > "$out/$name.ref"
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

oci_archive pause-e2e registry.k8s.io/pause:3.10.2 "$work/pause-root" '["/pause"]'
oci_archive busybox-e2e registry.k8s.io/e2e-test-images/busybox:1.37.0-1 "$work/busybox-root" '["/bin/sh"]'
oci_archive nginx-e2e registry.k8s.io/e2e-test-images/nginx:1.15-4 "$work/busybox-root" '["/bin/sh"]'
cp -a "$work/busybox-root" "$work/glibc-root"
rm "$work/glibc-root/bin/dd" "$work/glibc-root/bin/sh"
install -m 0755 "$debian/bin/dd" "$debian/bin/dash" "$work/glibc-root/bin/"
ln -s dash "$work/glibc-root/bin/sh"
mkdir -p "$work/glibc-root/lib/x86_64-linux-gnu" "$work/glibc-root/lib64"
install -m 0755 "$debian/lib/x86_64-linux-gnu/libc.so.6" "$debian/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \
  "$work/glibc-root/lib/x86_64-linux-gnu/"
ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$work/glibc-root/lib64/ld-linux-x86-64.so.2"
oci_archive glibc-dns-testing-e2e registry.k8s.io/e2e-test-images/glibc-dns-testing:2.0.0 "$work/glibc-root" \
  '["/bin/sh"]'
install -m 0755 "$bin/agnhost" "$work/busybox-root/agnhost"
oci_archive agnhost-e2e registry.k8s.io/e2e-test-images/agnhost:2.63.0 "$work/busybox-root" '["/agnhost"]' '["pause"]'

for s in "${sidecars[@]}"; do
  read -r image binary tag <<< "$s"
  [ -n "$tag" ] || { echo "no tag for $image" >&2; exit 1; }
  rm -rf "$work/sidecar-root" && mkdir -p "$work/sidecar-root/tmp" && chmod 1777 "$work/sidecar-root/tmp"
  install -m 0755 "$bin/$binary" "$work/sidecar-root/$binary"
  oci_archive "$image" "registry.k8s.io/sig-storage/$image:$tag" "$work/sidecar-root" "[\"/$binary\"]"
done

echo "$stamp" > "$out/.stamp"
