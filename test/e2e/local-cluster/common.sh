# Shared by up.sh, down.sh and run.sh: paths, ports, and the helpers that start and stop host processes. The suite
# reads the same paths from cluster.env, which up.sh writes. Everything the cluster creates lives under E2E_ROOT, so
# nothing of a real /var/lib/kubelet, /var/lib/etcd or /var/lib/containerd is touched, and teardown knows what to
# remove.
E2E_ROOT=${E2E_ROOT:-/var/lib/hostpath-csi-e2e}
E2E_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
E2E_BIN="$E2E_REPO/.tools/e2e/bin"
E2E_DEBIAN="$E2E_REPO/.tools/e2e/debian/root"
E2E_LOGS=${E2E_LOGS:-$E2E_REPO/.run/e2e}
E2E_PIDS="$E2E_ROOT/pids"
E2E_PKI="$E2E_ROOT/pki"
E2E_KUBELET_DIR="$E2E_ROOT/kubelet"
E2E_STATE_DIR="$E2E_ROOT/driver-state"
E2E_CONTAINERD_SOCK="$E2E_ROOT/containerd/containerd.sock"
E2E_KUBECONFIG="$E2E_PKI/admin.kubeconfig"
# Held for a whole run (run.sh): two runs on one machine would fight over ports, sysctls and iptables. The lock is
# an flock on this directory itself, so the run creates no lock file it would have to remove (and could race on).
E2E_LOCK=/run/lock
# kubectl's discovery cache goes here, not to ~/.kube/cache (kubectl reads KUBECACHEDIR): teardown removes it.
export KUBECACHEDIR="$E2E_ROOT/kube-cache"
# Paths kubelet uses whatever its --root-dir: the device plugin socket and the flex volume plugin directory. Teardown
# removes what of them the run created.
E2E_HOST_PATHS=(/var/lib/kubelet/device-plugins /usr/libexec/kubernetes/kubelet-plugins)

# Not the defaults, so a cluster or service someone else runs on this machine's default ports is not disturbed.
E2E_ETCD_PORT=23790
E2E_ETCD_PEER_PORT=23800
E2E_APISERVER_PORT=16443
E2E_KUBELET_PORT=10350
E2E_KUBELET_HEALTHZ_PORT=10348
E2E_CONTROLLER_MANAGER_PORT=10357
E2E_SCHEDULER_PORT=10359
E2E_SERVICE_CIDR=10.96.0.0/16
E2E_NODE_NAME=localhost

# The sysctls kubelet sets at start-up (pkg/kubelet/cm setupKernelTunables and the kube-proxy-free defaults it
# enforces); up.sh saves their values and down.sh writes them back.
E2E_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
  kernel.keys.root_maxbytes)

# A pid file holds "<pid> <start time>" (field 22 of /proc/<pid>/stat): a pid alone could be reused by an unrelated
# process after ours died, and teardown must never signal anything it did not start.
start_time_of() { # pid
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) } # the command name may contain spaces; fields after it are fixed
  # shellcheck disable=SC2086
  set -- $stat
  echo "${20}"
}

# start_process NAME COMMAND...: runs COMMAND in its own session, stdout and stderr to $E2E_LOGS/NAME.log.
start_process() {
  local name=$1; shift
  mkdir -p "$E2E_PIDS" "$E2E_LOGS"
  setsid "$@" </dev/null >>"$E2E_LOGS/$name.log" 2>&1 &
  local pid=$!
  echo "$pid $(start_time_of "$pid")" > "$E2E_PIDS/$name.pid"
}

# Prints the pid recorded for NAME if that process is still the one we started.
live_pid() { # name
  local pid start
  read -r pid start < "$E2E_PIDS/$1.pid" 2>/dev/null || return 1
  [ -n "$pid" ] && [ "$(start_time_of "$pid" 2>/dev/null)" = "$start" ] && echo "$pid"
}

# stop_process NAME [GRACE-SECONDS]: SIGTERM, then SIGKILL to its process group (it was started as a session
# leader, by start_process or the suite) after the grace period; removes the pid file.
stop_process() {
  local name=$1 grace=${2:-10} pid i
  if pid=$(live_pid "$name"); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
      live_pid "$name" >/dev/null || break
      sleep 0.1
    done
    if live_pid "$name" >/dev/null; then
      echo "$name (pid $pid) ignored SIGTERM for ${grace}s: SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -f "$E2E_PIDS/$name.pid" "$E2E_PIDS/$name.child"
}

kubectl_admin() {
  "$E2E_BIN/kubectl" --kubeconfig "$E2E_KUBECONFIG" "$@"
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every half second.
wait_for() {
  local seconds=$1 what=$2 i; shift 2
  for ((i = 0; i < seconds * 2; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "timed out after ${seconds}s waiting for $what" >&2
  return 1
}
