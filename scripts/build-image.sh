#!/usr/bin/env bash
# Builds the driver image from the Dockerfile, unchanged, on a machine with no container registry, and checks it.
#   1. dockerd, containerd and runc from Debian's packages, unpacked into .tools/image/debian (nothing installed
#      system-wide, no service left running), started here with their own data root, exec root and socket and no
#      iptables, NAT or bridge; builds use the host's network (package registries only).
#   2. The base image the Dockerfile names (node:MAJOR-trixie-slim) made locally under that name: a minbase Debian
#      trixie from mmdebstrap, plus the Node.js binary of that major from the npm registry (scripts/install-node.sh)
#      and npm from the npm registry, laid out as the official image lays them out. It is a stand-in that exists only
#      because this machine reaches no registry; a real build pulls the official image.
#   3. docker build of the Dockerfile as it is, then checks inside the image: every OS tool the driver runs is there
#      and works, the driver prints its version, and it serves Probe on a socket as the manifests run it.
#   4. docker save into .tools/image/hostpath-csi-image.tar (for a cluster's containerd: ctr images import).
# Cached: each step is skipped when its inputs did not change (stamps under .tools/image). Prints the image size.
# Leaves no daemon, mount or network change behind (trap). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=$(node -p 'require("./package.json").version')
IMAGE=${IMAGE:-ghcr.io/hostpath-csi/hostpath-csi:$VERSION}
NODE_MAJOR=$(sed -n 's/^ARG NODE_IMAGE=node:\([0-9]*\)-.*/\1/p' Dockerfile)
BASE_IMAGE=$(sed -n 's/^ARG NODE_IMAGE=//p' Dockerfile)
tools="$PWD/.tools/image"
root="$tools/debian/root"
run_dir=/run/hostpath-csi-image-build
sock="$run_dir/docker.sock"
mkdir -p "$tools"
# One build at a time per machine: every build starts its dockerd on the same run directory and socket, and two
# daemons on one libnetwork store corrupt it (seen when two worktrees built at once).
exec 8>/run/lock/hostpath-csi-image-build.lock
flock -w 1800 8 || { echo "build-image: gave up waiting for another image build" >&2; exit 1; }

log() { echo "build-image: $*" >&2; }

# shellcheck source=scripts/lib/debian-unpack.sh
. scripts/lib/debian-unpack.sh

unpack_builder() { debian_unpack "$tools/debian" docker.io containerd runc tini; }

export PATH="$root/usr/sbin:$root/usr/bin:$PATH"
docker() { "$root/usr/bin/docker" --host "unix://$sock" "$@"; }

stop_daemon() {
  if [ -f "$run_dir/dockerd.pid" ]; then
    local pid
    pid=$(cat "$run_dir/dockerd.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  # dockerd leaves an nsfs mount of its network namespace (and, after a crash, overlay mounts) under its roots.
  local m
  for m in $({ grep -E " ($run_dir|$tools/data)[/ ]" /proc/self/mounts || true; } | awk '{print $2}' | sort -r); do umount -l "$m" || true; done
  rm -rf "$run_dir"
}

start_daemon() {
  stop_daemon
  mkdir -p "$run_dir" "$tools/data"
  log "starting dockerd (data root $tools/data)"
  dockerd --data-root "$tools/data" --exec-root "$run_dir/exec" --pidfile "$run_dir/dockerd.pid" \
    --host "unix://$sock" --iptables=false --ip6tables=false --ip-masq=false --bridge=none \
    --storage-driver overlay2 >"$tools/dockerd.log" 2>&1 &
  for _ in $(seq 1 300); do
    docker version >/dev/null 2>&1 && return
    kill -0 $! 2>/dev/null || break
    sleep 0.1
  done
  tail -20 "$tools/dockerd.log" >&2
  log "dockerd did not start"
  return 1
}

# The node image stand-in: minbase trixie + node + npm under /usr/local, as the official image has them.
make_base_image() {
  local node_bin npm_version stamp_in
  node_bin=$(bash scripts/install-node.sh "$NODE_MAJOR")
  npm_version=$(npm view npm@11 version 2>/dev/null | tail -n 1 | sed "s/.*'\(.*\)'.*/\1/; s/^npm@//; s/ .*//")
  stamp_in="$("$node_bin" --version) npm $npm_version $(sha256sum "$0" | cut -c1-16)"
  if [ "$(cat "$tools/.base.stamp" 2>/dev/null)" = "$stamp_in" ] && docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then return; fi
  log "making $BASE_IMAGE from mmdebstrap trixie + node $("$node_bin" --version) + npm $npm_version"
  local tmp
  tmp=$(mktemp -d /tmp/hostpath-csi-base.XXXXXX)
  mkdir -p "$tmp/overlay/usr/local/bin" "$tmp/overlay/usr/local/lib/node_modules"
  cp "$node_bin" "$tmp/overlay/usr/local/bin/node"
  (cd "$tmp" && npm pack --silent "npm@$npm_version" >/dev/null 2>&1 && tar -xzf npm-*.tgz && mv package overlay/usr/local/lib/node_modules/npm)
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tmp/overlay/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$tmp/overlay/usr/local/bin/npx"
  # This machine reaches the package registries through a TLS proxy with its own CA: the stand-in trusts what the
  # machine trusts, so npm and apt inside the build reach them too. (The official image has only the public CAs.)
  mkdir -p "$tmp/overlay/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$tmp/overlay/etc/ssl/certs/ca-certificates.crt"
  tar -C "$tmp/overlay" -cf "$tmp/overlay.tar" .
  mmdebstrap --quiet --variant=minbase --include=ca-certificates trixie "$tmp/rootfs.tar" \
    --customize-hook="tar-in $tmp/overlay.tar /" \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin'
  docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["node"]' "$tmp/rootfs.tar" "$BASE_IMAGE" >/dev/null
  rm -rf "$tmp"
  echo "$stamp_in" > "$tools/.base.stamp"
}

build_image() {
  log "docker build -t $IMAGE ."
  DOCKER_BUILDKIT=0 docker build --network host --build-arg "VERSION=$VERSION" -t "$IMAGE" . >"$tools/build.log" 2>&1 || {
    tail -40 "$tools/build.log" >&2
    return 1
  }
}

in_image() { docker run --rm --network none --entrypoint "$1" "$IMAGE" "${@:2}"; }

# Every program src/os runs, present and working inside the image.
check_tools() {
  local t
  for t in mount umount losetup fsfreeze blockdev setpriv cp mkfs.ext4 e2fsck resize2fs dumpe2fs mkfs.xfs xfs_growfs xfs_quota; do
    docker run --rm --network none --entrypoint sh "$IMAGE" -c "command -v $t >/dev/null" || { log "$t is missing from the image"; return 1; }
  done
  # They work: a filesystem of each kind made, checked and read in a file, a reflink-or-copy of a file.
  docker run --rm --network none --entrypoint sh "$IMAGE" -c '
    set -e; cd /tmp
    truncate -s 64M e.img && mkfs.ext4 -F -q e.img && e2fsck -f -n e.img >/dev/null && dumpe2fs -h e.img >/dev/null 2>&1
    resize2fs -P e.img >/dev/null 2>&1
    truncate -s 320M x.img && mkfs.xfs -f -q x.img && xfs_growfs -V >/dev/null && xfs_quota -V >/dev/null
    echo data > a && cp -a --reflink=auto a b && cmp a b
    losetup --version >/dev/null && mount --version >/dev/null && fsfreeze --version >/dev/null
    setpriv --pdeathsig KILL -- true'
  in_image node /app/dist/main.js --version
}

# Runs the image as the manifests do (the driver as the entrypoint, the socket in a mounted directory) and probes it.
check_serves() {
  local dir name
  dir=$(mktemp -d /tmp/hostpath-csi-image-run.XXXXXX)
  name=hostpath-csi-image-check-$$
  docker run -d --name "$name" --network none -v "$dir:/csi" -v "$dir/state:/var/lib/hostpath-csi" \
    "$IMAGE" --endpoint=unix:///csi/csi.sock --node-id=image-check --mode=all >/dev/null
  local ok=1
  for _ in $(seq 1 100); do
    if [ -S "$dir/csi.sock" ] && node scripts/probe.js "$dir/csi.sock" >/dev/null 2>&1; then ok=0; break; fi
    sleep 0.1
  done
  [ $ok -eq 0 ] || docker logs "$name" >&2 || true
  docker stop -t 10 "$name" >/dev/null || true
  docker rm -f "$name" >/dev/null 2>&1 || true
  rm -rf "$dir"
  [ $ok -eq 0 ] || { log "the image did not serve Probe on its socket"; return 1; }
  log "the image serves Probe (ready) on a mounted socket"
}

trap stop_daemon EXIT
command -v mmdebstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null; }
unpack_builder
start_daemon
make_base_image
build_image
check_tools
check_serves
docker save -o "$tools/hostpath-csi-image.tar" "$IMAGE"
size=$(docker image inspect --format '{{.Size}}' "$IMAGE")
log "built $IMAGE: $((size / 1024 / 1024)) MiB (base $BASE_IMAGE: $(($(docker image inspect --format '{{.Size}}' "$BASE_IMAGE") / 1024 / 1024)) MiB); saved to $tools/hostpath-csi-image.tar"
