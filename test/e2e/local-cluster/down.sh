#!/usr/bin/env bash
# Tears the local cluster down and puts the host back as up.sh found it; safe to run after a failed or partial
# bring-up, after a crashed suite, and twice. Signals only the processes whose pid files it (or the suite) wrote —
# plus the containerd shims of our own containerd, found by its unique socket path — and touches only mounts and
# loop devices under E2E_ROOT. Restores the sysctls kubelet changed, removes the iptables chains that appeared
# while the cluster ran, the cgroups kubelet made, and E2E_ROOT itself. Logs stay in E2E_LOGS (.run/e2e).
# Exits 1 if something could not be cleaned (and says what), so CI notices a leak.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"

[ -d "$E2E_ROOT" ] || exit 0
failed=0
saved="$E2E_ROOT/saved"
INFRA=(kubelet containerd kube-scheduler kube-controller-manager kube-apiserver etcd)

stop_suite_processes() { # the driver, the sidecars and the snapshot-controller (pid files the suite wrote)
  local f name
  for f in "$E2E_PIDS"/*.pid; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .pid)
    [[ " ${INFRA[*]} " == *" $name "* ]] || stop_process "$name" 10
  done
}

ctr() {
  "$E2E_DEBIAN/usr/bin/ctr" --address "$E2E_CONTAINERD_SOCK" "$@"
}

# Kills every container of our containerd, then containerd; a shim that outlived it (containerd was killed) is
# ours if its command line names our containerd's socket, and so are its children.
stop_containers() {
  local task pid child
  if live_pid containerd >/dev/null; then
    for task in $(ctr -n k8s.io tasks ls -q 2>/dev/null); do
      ctr -n k8s.io tasks kill -s SIGKILL "$task" >/dev/null 2>&1
    done
    sleep 1
    for task in $(ctr -n k8s.io tasks ls -q 2>/dev/null); do
      ctr -n k8s.io tasks delete -f "$task" >/dev/null 2>&1
    done
  fi
  stop_process containerd 10
  for pid in $(grep -lsF -- "$E2E_CONTAINERD_SOCK" /proc/[0-9]*/cmdline | cut -d/ -f3); do
    for child in $(grep -ls "^[0-9]* ([^)]*) . $pid " /proc/[0-9]*/stat | cut -d/ -f3); do
      kill -KILL "$child" 2>/dev/null
    done
    kill -KILL "$pid" 2>/dev/null && echo "killed leftover containerd shim $pid"
  done
}

unmount_all() { # everything mounted under E2E_ROOT, deepest first
  local target i
  for i in 1 2 3; do
    findmnt -rn -o TARGET | grep -E "^$E2E_ROOT(/|$)" | sort -r | while read -r target; do
      umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null || echo "could not unmount $target" >&2
    done
    findmnt -rn -o TARGET | grep -qE "^$E2E_ROOT(/|$)" || return 0
    sleep 1
  done
  echo "still mounted under $E2E_ROOT:" >&2
  findmnt -rn -o TARGET | grep -E "^$E2E_ROOT(/|$)" >&2
  failed=1
}

# "major:minor inode" of every file of the driver's state (volume images).
state_file_ids() {
  find "$E2E_STATE_DIR" -xdev -type f -exec stat -c '%Hd:%Ld %i' {} + 2>/dev/null | sort -u
}

# Loop devices backed by a file under E2E_ROOT (block and image volumes the suite left attached): by the path the
# kernel reports, or by the file's device and inode. The driver in a pod attaches through its container's mount of
# the state directory; once that container is gone the kernel reports the path below that mount's root
# (/volumes/<id>/disk.img), which no path under E2E_ROOT matches.
ours() { # ids majmin ino file
  case "$4" in "$E2E_ROOT"/*) return 0 ;; esac
  grep -qxF "$2 $3" <<< "$1"
}

detach_loops() {
  local dev majmin ino file ids
  ids=$(state_file_ids)
  while read -r dev majmin ino file; do
    if ours "$ids" "$majmin" "$ino" "$file"; then losetup -d "$dev" && echo "detached $dev ($file)"; fi
  done < <(losetup -l -n -O NAME,BACK-MAJ:MIN,BACK-INO,BACK-FILE 2>/dev/null)
  while read -r dev majmin ino file; do
    if ours "$ids" "$majmin" "$ino" "$file"; then
      echo "loop device $dev ($file) still attached" >&2
      failed=1
    fi
  done < <(losetup -l -n -O NAME,BACK-MAJ:MIN,BACK-INO,BACK-FILE 2>/dev/null)
}

restore_sysctls() {
  local name value
  [ -f "$saved/sysctls" ] || return 0
  while read -r name value; do
    [ "$(cat "/proc/sys/${name//.//}")" = "$value" ] || echo "$value" > "/proc/sys/${name//.//}" || failed=1
  done < "$saved/sysctls"
}

# Chains kubelet added (KUBE-FIREWALL, KUBE-KUBELET-CANARY, ...): first the rules that jump to them, then the chains.
remove_new_chains() {
  [ -f "$saved/chains" ] || return 0
  local cmd table chain rule new
  for cmd in iptables ip6tables; do
    command -v "$cmd" >/dev/null || continue
    for table in filter nat mangle raw; do
      new=$("$cmd" -t "$table" -S 2>/dev/null | sed -n 's/^-N //p' | grep -vxF -f "$saved/chains")
      [ -n "$new" ] || continue
      for chain in $new; do
        "$cmd" -t "$table" -S 2>/dev/null | grep -E -- "-j $chain( |$)" | sed 's/^-A /-D /' |
          while read -r rule; do eval "$cmd -t $table $rule"; done
      done
      for chain in $new; do "$cmd" -t "$table" -F "$chain"; done
      for chain in $new; do "$cmd" -t "$table" -X "$chain" || failed=1; done
    done
  done
}

# Pod network namespaces that appeared while the cluster ran. containerd removes a pod's namespace when kubelet stops
# the pod sandbox; after an aborted suite the pods are still there when stop_containers kills their tasks, so the
# namespace mounts (/run/netns/cni-*) would outlive the cluster.
remove_new_netns() {
  local ns
  [ -f "$saved/netns" ] || return 0
  for ns in /run/netns/cni-*; do
    [ -e "$ns" ] || continue
    grep -qxF "$(basename "$ns")" "$saved/netns" && continue
    umount "$ns" 2>/dev/null || umount -l "$ns" 2>/dev/null
    rm -f "$ns" && echo "removed pod network namespace $ns" || { echo "could not remove $ns" >&2; failed=1; }
  done
  [ -e "$saved/run-netns-existed" ] || rmdir /run/netns 2>/dev/null
  return 0
}

remove_cgroups() { # the kubepods hierarchy kubelet made in each cgroup v1 controller (empty once pods are gone)
  local dir
  [ -e "$saved/kubepods-existed" ] && return 0
  for dir in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [ -d "$dir" ] || continue
    find "$dir" -depth -type d -exec rmdir {} \; 2>/dev/null
    [ -d "$dir" ] && { echo "could not remove cgroup $dir" >&2; failed=1; }
  done
  return 0
}

remove_host_leftovers() {
  local link
  for link in /var/log/containers/*.log; do
    [ -L "$link" ] && [[ "$(readlink "$link")" == "$E2E_ROOT"/* ]] && rm -f "$link"
  done
  [ -e "$saved/var-log-containers-existed" ] || rmdir /var/log/containers 2>/dev/null
  [ -e "$saved/run-containerd-existed" ] || { rmdir /run/containerd/s 2>/dev/null; rmdir /run/containerd 2>/dev/null; }
  # What kubelet made outside its root dir (device-plugins/kubelet.sock, kubelet-plugins/volume/exec): only what
  # did not exist before the run, and only sockets and empty directories in it.
  local created
  if [ -f "$saved/host-paths-created" ]; then
    while read -r created; do
      [ -n "$created" ] && [ -d "$created" ] || continue
      find "$created" -type s -delete 2>/dev/null
      find "$created" -depth -type d -empty -delete 2>/dev/null
      [ -e "$created" ] && { echo "left on the host: $created (not empty)" >&2; failed=1; }
    done < "$saved/host-paths-created"
  fi
  return 0
}

stop_suite_processes
stop_process kubelet 15
stop_containers
for p in kube-scheduler kube-controller-manager kube-apiserver etcd; do stop_process "$p" 15; done
unmount_all
detach_loops
remove_new_netns
restore_sysctls
remove_new_chains
remove_cgroups
remove_host_leftovers
if [ "$failed" -eq 0 ]; then
  rm -rf --one-file-system "$E2E_ROOT"
  echo "local cluster down"
else
  echo "local cluster down, but not clean (see above); $E2E_ROOT kept" >&2
  exit 1
fi
