#!/usr/bin/env bash
# Builds the test VM into .tools/vm/ (or $VM_DIR): Debian's distribution kernel (linux-image-amd64, which has XFS
# and ext4 project quotas and lets root resize a mounted ext4) and a root filesystem made with mmdebstrap, packed
# as an uncompressed initramfs so the VM needs no disk driver to boot and decompresses nothing under emulation.
# The rootfs holds xfsprogs, e2fsprogs, quota tools, util-linux, the kernel modules the tests load, and the
# container image's Node.js major (scripts/install-node.sh, from the npm registry). The project itself is not in
# the image: test/vm/run.sh shares the checkout into the VM over 9p, so a rebuild of dist/ needs no new image.
# Cached: nothing is rebuilt while the stamp of the inputs (this script, init.sh, the kernel and Node versions, the
# package list) matches. Prints the directory on stdout; progress goes to stderr.
# Needs root, apt and the Debian package mirror; installs mmdebstrap, qemu-system-x86 and cpio with apt-get if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=test/vm
vm_dir=${VM_DIR:-$PWD/.tools/vm}
suite=${VM_SUITE:-bookworm}
# What the tests run inside the VM: mkfs/mount/quota tools, setpriv (util-linux), getfattr (attr), ps (procps),
# ip (iproute2: the loopback interface, which vitest binds to; the VM has no other network).
packages=mount,util-linux,kmod,iproute2,e2fsprogs,xfsprogs,quota,attr,procps,coreutils,findutils,grep,sed,gawk,bash
# Module directories (under kernel/) copied into the image: filesystems and quota formats, 9p over virtio, loop,
# and the checksum code ext4 and XFS need (crc32c, crc16).
module_dirs=(fs net/9p drivers/virtio drivers/block drivers/char lib crypto arch/x86/crypto)

log() { echo "vm build: $*" >&2; }

need_apt=()
command -v mmdebstrap >/dev/null || need_apt+=(mmdebstrap)
command -v qemu-system-x86_64 >/dev/null || need_apt+=(qemu-system-x86)
command -v cpio >/dev/null || need_apt+=(cpio)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]} with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

node_major=$(sed -n 's/^ARG NODE_IMAGE=node:\([0-9]*\)-.*/\1/p' Dockerfile)
node_bin=$(bash scripts/install-node.sh "$node_major")
kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$kernel_pkg" ]; then
  apt-get update -qq
  kernel_pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
fi
kernel_version=$(apt-cache policy "$kernel_pkg" | awk '/Candidate:/ {print $2}')
stamp=$( { cat "$0" "$here/init.sh"; echo "$suite $packages $kernel_pkg $kernel_version"; "$node_bin" --version; } | sha256sum | cut -d' ' -f1)

if [ -f "$vm_dir/stamp" ] && [ "$(cat "$vm_dir/stamp")" = "$stamp" ] && [ -f "$vm_dir/vmlinuz" ] && [ -f "$vm_dir/rootfs.cpio" ]; then
  echo "$vm_dir"
  exit 0
fi

start=$SECONDS
tmp=$(mktemp -d /tmp/hostpath-csi-vm-build.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
log "kernel $kernel_pkg $kernel_version"
(cd "$tmp" && apt-get download "$kernel_pkg" >/dev/null 2>&1)
dpkg-deb -x "$tmp"/linux-image-*.deb "$tmp/kernel"
kver=$(ls "$tmp/kernel/lib/modules")

log "root filesystem: Debian $suite with $packages"
mmdebstrap --quiet --variant=essential --include="$packages" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  "$suite" "$tmp/root" >&2

for d in "${module_dirs[@]}"; do
  [ -d "$tmp/kernel/lib/modules/$kver/kernel/$d" ] || continue
  mkdir -p "$tmp/root/lib/modules/$kver/kernel/$(dirname "$d")"
  cp -a "$tmp/kernel/lib/modules/$kver/kernel/$d" "$tmp/root/lib/modules/$kver/kernel/$d"
done
cp "$tmp/kernel/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$tmp/root/lib/modules/$kver/"
chroot "$tmp/root" depmod "$kver"   # the image's own kmod: the host may have none
install -m 0755 "$node_bin" "$tmp/root/usr/local/bin/node"
install -m 0755 "$here/init.sh" "$tmp/root/init"
mkdir -p "$tmp/root/project"
printf "127.0.0.1 localhost\n::1 localhost\n" >"$tmp/root/etc/hosts"

rm -rf "$vm_dir.new"
mkdir -p "$vm_dir.new"
cp "$tmp/kernel/boot/vmlinuz-$kver" "$vm_dir.new/vmlinuz"
(cd "$tmp/root" && find . -print0 | cpio --null --create --format=newc --quiet) >"$vm_dir.new/rootfs.cpio"
echo "$kver" >"$vm_dir.new/kernel-release"
echo "$stamp" >"$vm_dir.new/stamp"
rm -rf "$vm_dir"
mv "$vm_dir.new" "$vm_dir"
log "built in $((SECONDS - start))s: kernel $kver, rootfs $(du -m "$vm_dir/rootfs.cpio" | cut -f1) MiB"
echo "$vm_dir"
