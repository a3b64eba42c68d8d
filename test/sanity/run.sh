#!/usr/bin/env bash
# Runs csi-sanity (installed by scripts/install-tools.sh) against the built driver (dist/), in a matrix:
#   single    one process serving every service on one socket
#   split     controller and node as two processes sharing one state directory (--csi.controllerendpoint)
#   noattach  one process with --enable-attach=false (no ControllerPublish, as deployed without external-attacher)
#   block, block-split   single and split again, with --csi.testvolumeaccesstype=block (raw block on loop devices)
#   image     filesystem volumes with sizeLimit: image (ext4 in a loop-mounted sparse image)
#   quota     filesystem volumes with sizeLimit: quota, the state directory on an XFS image the script mounts with
#             prjquota (and removes afterwards); skipped, saying why, where the kernel has no project quotas
#   quota-ext4  the same on ext4 made with the `project` feature (not in the default list: this project's hosts
#             refuse ext4 prjquota; test/vm/ runs quota and quota-ext4 on a distribution kernel)
#   nodeexpand  --controller-expansion=false (node-driven expansion) with xfs image volumes of 320/640 MiB (xfs's
#             minimum is 300 MiB), so NodeExpandVolume grows record, image and filesystem online
# Every optional part is on: parameters, mutable parameters, snapshot parameters, secrets, the attach-limit test.
# The matrix runs once per csi-sanity version in SANITY_VERSIONS (default: v5.5.0 on CSI v1.12 and v5.6.0 on CSI
# v1.13, both installed by scripts/install-tools.sh). Each version's clients reject the other's health capabilities,
# so the driver is started with the matching --csi-health-api (1.12 for v5.5.x, else 1.13).
# Usage: test/sanity/run.sh [single|split|noattach|block|block-split|image|quota|quota-ext4|nodeexpand ...]   (default: all)
# Each run's driver logs and JUnit report stay in .run/sanity/<version>/<name>/ (SANITY_RESULTS_DIR moves
# .run/sanity); the temp dirs and mounts are removed.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=test/sanity
read -r -a versions <<<"${SANITY_VERSIONS:-v5.5.0 v5.6.0}"
sanity_bin() { # version -> the installed binary (v5.5.0 keeps the plain name other scripts use)
  if [ "$1" = v5.5.0 ]; then echo .tools/bin/csi-sanity; else echo ".tools/bin/csi-sanity-$1"; fi
}
for v in "${versions[@]}"; do
  [ -x "$(sanity_bin "$v")" ] || { echo "csi-sanity $v missing: run scripts/install-tools.sh" >&2; exit 1; }
done
[ -f dist/main.js ] || { echo "dist/main.js missing: run npm run build" >&2; exit 1; }

configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(single split noattach block block-split image quota nodeexpand)

mutable_keys=$(sed -n 's/^\([A-Za-z0-9_.\/-]*\):.*/\1/p' "$here/mutable-params.yaml" | paste -sd, -)
pids=()
work=""
quota_mount=""

cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
  if [ -n "$work" ] && [ -d "$work" ]; then
    # Never leave a mount behind on a shared host: unmount anything under the run's directory, deepest first.
    grep -o " $work/[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" || true; done
    # The quota config's filesystem image: its loop device goes with the unmount (autoclear), else detach it.
    if [ -n "$quota_mount" ]; then
      losetup --list --noheadings -O NAME,BACK-FILE | awk -v f="$work/quota.img" '$2 == f {print $1}' | xargs -r -n1 losetup --detach || true
    fi
    rm -rf "$work"
  fi
  work=""
  quota_mount=""
}
trap cleanup EXIT

# The state directory on an XFS (or ext4 with the project feature) filesystem mounted with prjquota, made on a
# sparse image in the run's directory. Returns 1 (after saying why) where the kernel cannot mount it so (no
# CONFIG_XFS_QUOTA, no CONFIG_QFMT_V2).
make_quota_state_dir() { # xfs|ext4
  local fs=$1
  truncate -s 1G "$work/quota.img"
  if [ "$fs" = xfs ]; then mkfs.xfs -q -f "$work/quota.img"; else mkfs.ext4 -F -q -O quota,project "$work/quota.img"; fi
  mkdir -p "$work/state"
  if ! mount -o loop,prjquota -t "$fs" "$work/quota.img" "$work/state" 2>"$out/quota-mount.log"; then
    echo "$config: skipped, this kernel cannot mount $fs with prjquota (no project quota support): $(head -1 "$out/quota-mount.log")"
    return 1
  fi
  quota_mount="$work/state"
}

start_driver() { # name socket mode extra-args...
  local name=$1 socket=$2 mode=$3; shift 3
  node dist/main.js --endpoint "unix://$socket" --state-dir "$work/state" --mode "$mode" --node-id sanity-node \
    --max-volumes-per-node 8 --mutable-parameters "$mutable_keys" --log-level debug --allowed-path-root "$work" \
    --csi-health-api "$health_api" "$@" \
    >"$out/driver-$name.log" 2>&1 &
  pids+=($!)
  # The socket is bound before start-up's reconcile; until it ends every RPC but Probe answers UNAVAILABLE, so wait
  # for a ready Probe (as kubelet's registration and the livenessprobe do), not just the socket (a race seen in CI).
  for _ in $(seq 1 100); do
    [ -S "$socket" ] && node scripts/probe.js "$socket" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "driver $name did not answer a ready Probe on $socket" >&2; cat "$out/driver-$name.log" >&2; return 1
}

run_one() {
  local config=$1
  out="${SANITY_RESULTS_DIR:-.run/sanity}/$version/$config"
  rm -rf "$out"; mkdir -p "$out"
  work=$(mktemp -d /tmp/hostpath-csi-sanity.XXXXXX)
  local endpoints=() access=mount run_dir=$work params="$here/params.yaml" size=67108864 expand_size=134217728
  case "$config" in block*) access=block ;; esac
  case "$config" in
    image) params="$here/params-image.yaml" ;;
    quota) params="$here/params-quota.yaml"; make_quota_state_dir xfs || { cleanup; return 0; } ;;
    quota-ext4) params="$here/params-quota.yaml"; make_quota_state_dir ext4 || { cleanup; return 0; } ;;
    nodeexpand) params="$here/params-image-xfs.yaml"; size=$((320 * 1024 * 1024)); expand_size=$((640 * 1024 * 1024)) ;;
  esac
  case "$config" in
    single|block|image|quota|quota-ext4) start_driver all "$work/csi.sock" all; endpoints=(--csi.endpoint "$work/csi.sock") ;;
    nodeexpand) start_driver all "$work/csi.sock" all --controller-expansion=false; endpoints=(--csi.endpoint "$work/csi.sock") ;;
    noattach) start_driver all "$work/csi.sock" all --enable-attach=false; endpoints=(--csi.endpoint "$work/csi.sock") ;;
    split|block-split)
      start_driver controller "$work/controller.sock" controller
      start_driver node "$work/node.sock" node
      endpoints=(--csi.endpoint "$work/node.sock" --csi.controllerendpoint "$work/controller.sock") ;;
    *) echo "unknown sanity config $config" >&2; return 2 ;;
  esac
  echo "== csi-sanity $version: $config"
  local rc=0
  "$(sanity_bin "$version")" "${endpoints[@]}" \
    --csi.mountdir "$work/target" --csi.stagingdir "$work/staging" \
    --csi.testvolumeparameters "$params" \
    --csi.testvolumemutableparameters "$here/mutable-params.yaml" \
    --csi.testsnapshotparameters "$here/snapshot-params.yaml" \
    --csi.secrets "$here/secrets.yaml" \
    --csi.testnodevolumeattachlimit --csi.testvolumeaccesstype "$access" \
    --csi.testvolumesize "$size" --csi.testvolumeexpandsize "$expand_size" \
    ${sanity_skip:+--ginkgo.skip "$sanity_skip"} \
    --ginkgo.no-color --ginkgo.junit-report "$PWD/$out/junit.xml" >"$out/sanity.log" 2>&1 || rc=$?
  grep -E "^(Ran [0-9]+ of [0-9]+ Specs|FAIL!|SUCCESS!|\[FAIL\])" "$out/sanity.log" || true
  if grep -h -o "sanity-secret-[a-z-]*" "$out"/driver-*.log | sort -u | grep -q .; then
    echo "a secret value reached the driver log in $config" >&2; rc=1
  fi
  cleanup
  # Only loop devices backed by this run's files count: other work on the host may attach loops meanwhile.
  local leaked; leaked=$(losetup --list --noheadings -O NAME,BACK-FILE | grep -F "$run_dir/" || true)
  if [ -n "$leaked" ]; then
    echo "loop devices leaked in $config:" >&2; echo "$leaked" >&2; rc=1
  fi
  if [ $rc -ne 0 ]; then
    echo "csi-sanity $version $config failed (rc=$rc); see $out/" >&2
    grep -B2 -A12 "\[FAILED\]" "$out/sanity.log" | head -80 >&2 || true
  fi
  return $rc
}

status=0
for version in "${versions[@]}"; do
  case "$version" in v5.5.*) health_api=1.12 ;; *) health_api=1.13 ;; esac
  # csi-sanity v5.6.0 compares the snapshot's accessible_topology with NodeGetInfo's using gomega Equal
  # (reflect.DeepEqual) on protobuf messages: the expected one was marshalled into the request (its internal
  # sizeCache is 48), the answered one was not (0), so every driver that returns the field fails the spec with two
  # identical segment maps (controller.go:1454). The field is checked by test/unit/health/advertise.test.ts instead.
  sanity_skip=""
  if [ "$version" = v5.6.0 ]; then sanity_skip="should succeed when creating a snapshot with accessibility requirements"; fi
  for c in "${configs[@]}"; do run_one "$c" || status=1; done
done
exit $status
