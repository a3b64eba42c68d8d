#!/usr/bin/env bash
# Measures what a snapshot costs on each filesystem the driver may sit on: makes an XFS (reflink) and an ext4
# filesystem on loop-mounted sparse images, runs the same cp the driver uses (src/os/copy.ts) on a volume-like tree
# of SIZE_MIB (one large file plus many small ones), and reports time and extra space used. Root only. Everything it
# makes is removed at exit. Usage: bench/snapshot-cost.sh [SIZE_MIB]   (default 256)
set -euo pipefail
size_mib=${1:-256}
work=$(mktemp -d /tmp/hostpath-csi-snapbench.XXXXXX)
cleanup() {
  for m in "$work"/mnt-*; do mountpoint -q "$m" && umount "$m"; done
  rm -rf "$work"
}
trap cleanup EXIT

used_kib() { df --output=used -k "$1" | tail -1 | tr -d ' '; }

measure() { # name mkfs-command...
  local name=$1; shift
  local img="$work/$name.img" mnt="$work/mnt-$name"
  truncate -s $((size_mib * 4 + 512))M "$img"
  "$@" "$img" >/dev/null 2>&1
  mkdir -p "$mnt" && mount -o loop "$img" "$mnt"
  mkdir -p "$mnt/vol/small" "$mnt/snap"
  head -c $((size_mib * 1024 * 1024 * 3 / 4)) /dev/urandom > "$mnt/vol/large.bin"
  for i in $(seq 1 1000); do head -c $((size_mib * 256)) /dev/urandom > "$mnt/vol/small/f$i"; done
  sync
  local before after start end
  before=$(used_kib "$mnt")
  start=$(date +%s%N)
  cp -a --reflink=auto -- "$mnt/vol/." "$mnt/snap"
  sync
  end=$(date +%s%N)
  after=$(used_kib "$mnt")
  printf '| %s | %d MiB | %d ms | %d MiB |\n' "$name" "$size_mib" $(((end - start) / 1000000)) $(((after - before) / 1024))
  umount "$mnt"
}

echo "| filesystem | volume data | snapshot time | extra space used |"
echo "|---|---|---|---|"
measure xfs-reflink mkfs.xfs -f -m reflink=1
measure ext4 mkfs.ext4 -F -q
