#!/usr/bin/env bash
# Brings up a single-node Kubernetes cluster made of host processes, all on 127.0.0.1, from nothing:
# throwaway PKI, etcd, kube-apiserver (Node,RBAC), kube-controller-manager, kube-scheduler, containerd (cgroupfs; CNI:
# loopback and an address on an in-pod veth pair, no pod network; the cases' pods use hostNetwork) with the locally
# built images, and kubelet with its own root directory, node name `localhost`. Then the snapshot CRDs. The driver,
# the sidecars and the snapshot-controller are started by the suite (cluster/deployment.ts), per deployment form.
# Needs root and scripts/install-e2e-tools.sh. On any failure it tears down what it started (down.sh) and exits 1.
# Saves what kubelet changes on the host (sysctls, iptables chains) so down.sh can restore it.
set -eEuo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"
# shellcheck source=versions.sh
. "$here/versions.sh"

[ "$(id -u)" -eq 0 ] || { echo "up.sh needs root (kubelet, containerd and mounts)" >&2; exit 1; }
for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl; do
  [ -x "$E2E_BIN/$b" ] || { echo "missing $E2E_BIN/$b: run scripts/install-e2e-tools.sh" >&2; exit 1; }
done
[ -x "$E2E_DEBIAN/usr/bin/containerd" ] || { echo "missing containerd: run scripts/install-e2e-tools.sh" >&2; exit 1; }
if [ -d "$E2E_PIDS" ] && [ -n "$(ls -A "$E2E_PIDS" 2>/dev/null)" ]; then
  echo "a local cluster is already up (or was not torn down): run $here/down.sh first" >&2
  exit 1
fi

trap 'echo "bring-up failed: tearing down" >&2; bash "$here/down.sh"; exit 1' ERR
started=$SECONDS
mkdir -p "$E2E_ROOT/saved" "$E2E_LOGS"
rm -f "$E2E_LOGS"/*.log

save_host_state() {
  local s
  for s in "${E2E_SYSCTLS[@]}"; do
    [ -e "/proc/sys/${s//.//}" ] && echo "$s $(cat "/proc/sys/${s//.//}")"
  done > "$E2E_ROOT/saved/sysctls"
  if command -v iptables-save >/dev/null; then
    { iptables-save; ip6tables-save; } 2>/dev/null | sed -n 's/^:\([^ ]*\) .*/\1/p' | sort -u > "$E2E_ROOT/saved/chains"
  fi
  [ -d /run/containerd ] && touch "$E2E_ROOT/saved/run-containerd-existed"
  [ -d /var/log/containers ] && touch "$E2E_ROOT/saved/var-log-containers-existed"
  [ -d /sys/fs/cgroup/memory/kubepods ] && touch "$E2E_ROOT/saved/kubepods-existed"
  # Pod network namespaces our containerd makes (/run/netns/cni-*, each a mount): teardown removes those not here now.
  [ -d /run/netns ] && touch "$E2E_ROOT/saved/run-netns-existed"
  ls /run/netns 2>/dev/null > "$E2E_ROOT/saved/netns"
  # For each host path kubelet creates outside --root-dir, the shallowest part of it that does not exist yet: that
  # is what teardown removes (nothing that was there before).
  local p first
  for p in "${E2E_HOST_PATHS[@]}"; do
    first=$p
    while [ ! -e "$(dirname "$first")" ]; do first=$(dirname "$first"); done
    [ -e "$p" ] || echo "$first"
  done > "$E2E_ROOT/saved/host-paths-created"
  return 0
}

# --- PKI: one CA; EC keys (fast to make); valid two days ------------------------------------------------------------
make_cert() { # name subject [extensions]
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$2" \
    -keyout "$E2E_PKI/$1.key" -out "$E2E_PKI/$1.csr" 2>/dev/null
  openssl x509 -req -in "$E2E_PKI/$1.csr" -CA "$E2E_PKI/ca.crt" -CAkey "$E2E_PKI/ca.key" -CAcreateserial \
    -days 2 -out "$E2E_PKI/$1.crt" -extfile <(printf '%s\n' "${3:-extendedKeyUsage=clientAuth}") 2>/dev/null
  rm -f "$E2E_PKI/$1.csr"
}

write_kubeconfig() { # name (uses name.crt/name.key)
  cat > "$E2E_PKI/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster: {server: "https://127.0.0.1:$E2E_APISERVER_PORT", certificate-authority: "$E2E_PKI/ca.crt"}
users:
- name: $1
  user: {client-certificate: "$E2E_PKI/$1.crt", client-key: "$E2E_PKI/$1.key"}
contexts:
- name: e2e
  context: {cluster: e2e, user: $1}
current-context: e2e
EOF
}

make_pki() {
  mkdir -p "$E2E_PKI"/{apiserver,controller-manager,scheduler,kubelet}
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=hostpath-csi-e2e-ca -keyout "$E2E_PKI/ca.key" -out "$E2E_PKI/ca.crt" 2>/dev/null
  make_cert apiserver /CN=kube-apiserver \
    "$(printf '%s\n' "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc" \
      extendedKeyUsage=serverAuth)"
  make_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  make_cert admin "/O=system:masters/CN=kubernetes-admin"
  make_cert controller-manager /CN=system:kube-controller-manager
  make_cert scheduler /CN=system:kube-scheduler
  make_cert kubelet "/O=system:nodes/CN=system:node:$E2E_NODE_NAME"
  for k in admin controller-manager scheduler kubelet; do write_kubeconfig "$k"; done
  openssl ecparam -genkey -name prime256v1 -noout -out "$E2E_PKI/sa.key" 2>/dev/null
  openssl ec -in "$E2E_PKI/sa.key" -pubout -out "$E2E_PKI/sa.pub" 2>/dev/null
}

start_etcd() {
  local url=http://127.0.0.1:$E2E_ETCD_PORT peer=http://127.0.0.1:$E2E_ETCD_PEER_PORT
  # --unsafe-no-fsync: a throwaway cluster on a disk shared with other work; losing it on a crash costs nothing.
  start_process etcd "$E2E_DEBIAN/usr/bin/etcd" --name e2e --data-dir "$E2E_ROOT/etcd" \
    --listen-client-urls "$url" --advertise-client-urls "$url" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" --initial-cluster "e2e=$peer" \
    --unsafe-no-fsync --log-level warn
  wait_for 30 etcd curl -fsS "$url/health"
}

start_apiserver() {
  start_process kube-apiserver "$E2E_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$E2E_ETCD_PORT" \
    --bind-address 127.0.0.1 --secure-port "$E2E_APISERVER_PORT" --advertise-address 127.0.0.1 \
    --endpoint-reconciler-type none \
    --cert-dir "$E2E_PKI/apiserver" \
    --tls-cert-file "$E2E_PKI/apiserver.crt" --tls-private-key-file "$E2E_PKI/apiserver.key" \
    --client-ca-file "$E2E_PKI/ca.crt" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --service-account-issuer https://kubernetes.default.svc \
    --service-account-key-file "$E2E_PKI/sa.pub" --service-account-signing-key-file "$E2E_PKI/sa.key" \
    --service-cluster-ip-range "$E2E_SERVICE_CIDR" \
    --kubelet-client-certificate "$E2E_PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$E2E_PKI/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types Hostname \
    --allow-privileged=true --profiling=false --v=1
  wait_for 60 kube-apiserver kubectl_admin get --raw /readyz
}

start_controllers() {
  start_process kube-controller-manager "$E2E_BIN/kube-controller-manager" \
    --kubeconfig "$E2E_PKI/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$E2E_PKI/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$E2E_PKI/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$E2E_CONTROLLER_MANAGER_PORT" \
    --cert-dir "$E2E_PKI/controller-manager" \
    --use-service-account-credentials --service-account-private-key-file "$E2E_PKI/sa.key" \
    --root-ca-file "$E2E_PKI/ca.crt" --service-cluster-ip-range "$E2E_SERVICE_CIDR" \
    --leader-elect=false --profiling=false --v=1
  start_process kube-scheduler "$E2E_BIN/kube-scheduler" \
    --kubeconfig "$E2E_PKI/scheduler.kubeconfig" \
    --authentication-kubeconfig "$E2E_PKI/scheduler.kubeconfig" \
    --authorization-kubeconfig "$E2E_PKI/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$E2E_SCHEDULER_PORT" --cert-dir "$E2E_PKI/scheduler" \
    --leader-elect=false --profiling=false --v=1
}

# containerd with its own root, state and socket; restrict_oom_score_adj because this VM lacks CAP_SYS_RESOURCE
# (without it runc fails every container with "can't get final child's PID from pipe").
start_containerd() {
  local dir="$E2E_ROOT/containerd" cni="$E2E_ROOT/cni"
  mkdir -p "$dir" "$cni/net.d"
  # Pods that do not use the host's network (Kubernetes' storage e2e suite makes such pods) need an address for
  # kubelet to report; cni/in-pod-veth gives one on an interface whose both ends stay in the pod (no bridge, no route
  # out: test traffic stays on loopback). The upstream `dummy` plugin would do the same, but this kernel has no dummy
  # driver. containerd adds each pod's loopback itself (Debian's plugin).
  mkdir -p "$cni/bin"
  install -m 0755 "$E2E_DEBIAN/usr/lib/cni/loopback" "$here/cni/in-pod-veth" "$cni/bin/"
  cat > "$cni/net.d/10-pod.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "hostpath-csi-e2e", "plugins": [{"type": "in-pod-veth", "address": "198.18.0.2/32"}]}
EOF
  cat > "$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$E2E_CONTAINERD_SOCK"
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$cni/bin"
    conf_dir = "$cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$E2E_DEBIAN/usr/sbin/runc"
        Root = "$dir/runc"
        SystemdCgroup = false
EOF
  # The shim is found on PATH.
  start_process containerd env PATH="$E2E_DEBIAN/usr/bin:$PATH" \
    "$E2E_DEBIAN/usr/bin/containerd" --config "$dir/config.toml"
  wait_for 30 containerd ctr version
  # Every image build-images.sh made (pause, busybox, the sidecars under the names deploy/ gives them), and the
  # driver image if scripts/build-image.sh has built it (docker save tags it as the manifests name it). Pinned, so
  # kubelet's image garbage collection never removes them (nothing could pull them back).
  local archive ref
  for archive in "$E2E_REPO"/.tools/e2e/images/*.tar; do
    ref=$(cat "${archive%.tar}.ref")
    ctr -n k8s.io images import "$archive" >/dev/null
    ctr -n k8s.io images label "$ref" io.cri-containerd.pinned=pinned >/dev/null
  done
  archive="$E2E_REPO/.tools/image/hostpath-csi-image.tar"
  if [ -f "$archive" ]; then
    ctr -n k8s.io images import "$archive" >/dev/null
    for ref in $(ctr -n k8s.io images ls -q | grep '^ghcr\.io/hostpath-csi/'); do
      ctr -n k8s.io images label "$ref" io.cri-containerd.pinned=pinned >/dev/null
    done
  fi
}

ctr() {
  "$E2E_DEBIAN/usr/bin/ctr" --address "$E2E_CONTAINERD_SOCK" "$@"
}

# kubelet: oomScoreAdj 0 (no CAP_SYS_RESOURCE here), node name localhost (kubelet refuses a loopback --node-ip; the
# API server reaches it by host name instead), failCgroupV1 false (this VM has cgroup v1), eviction thresholds low
# (the disk is shared and its free space is not ours to police), image GC off. nodeStatusUpdateFrequency 1s: kubelet
# mounts a volume only after its node status reports it in use, and the attach-detach controller detaches only after
# it no longer does; with the default 10s each pod start and stop with a PVC waits up to 10s for that.
# CSIVolumeHealth (alpha, off by default): kubelet reads volume_condition from NodeGetVolumeStats and reports an
# abnormal one as a VolumeConditionAbnormal Event on the pod and kubelet_volume_stats_health_status_abnormal (case 14).
start_kubelet() {
  mkdir -p "$E2E_KUBELET_DIR/pki" "$E2E_ROOT/pod-logs" "$E2E_ROOT/volume-plugins"
  cat > "$E2E_ROOT/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $E2E_KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $E2E_KUBELET_HEALTHZ_PORT
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: "$E2E_PKI/ca.crt"}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: "unix://$E2E_CONTAINERD_SOCK"
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
podLogsDir: "$E2E_ROOT/pod-logs"
volumePluginDir: "$E2E_ROOT/volume-plugins"
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, nodefs.inodesFree: 1%, imagefs.available: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
registerNode: true
syncFrequency: 5s
nodeStatusUpdateFrequency: 1s
fileCheckFrequency: 5s
volumeStatsAggPeriod: 5s
featureGates: {CSIVolumeHealth: true}
EOF
  start_process kubelet "$E2E_BIN/kubelet" --config "$E2E_ROOT/kubelet-config.yaml" \
    --kubeconfig "$E2E_PKI/kubelet.kubeconfig" --root-dir "$E2E_KUBELET_DIR" --cert-dir "$E2E_KUBELET_DIR/pki" \
    --hostname-override "$E2E_NODE_NAME" --v=1
  wait_for 90 "node $E2E_NODE_NAME Ready" \
    kubectl_admin wait --for=condition=Ready "node/$E2E_NODE_NAME" --timeout=2s
}

install_snapshot_crds() {
  kubectl_admin apply -f "$E2E_REPO/.tools/e2e/crds/" >/dev/null
  kubectl_admin wait --for=condition=Established --timeout=60s -f "$E2E_REPO/.tools/e2e/crds/" >/dev/null
}

write_cluster_env() {
  cat > "$E2E_ROOT/cluster.env" <<EOF
E2E_ROOT=$E2E_ROOT
E2E_BIN=$E2E_BIN
E2E_LOGS=$E2E_LOGS
E2E_PIDS=$E2E_PIDS
E2E_PKI=$E2E_PKI
E2E_KUBECONFIG=$E2E_KUBECONFIG
E2E_KUBELET_DIR=$E2E_KUBELET_DIR
E2E_STATE_DIR=$E2E_STATE_DIR
E2E_NODE_NAME=$E2E_NODE_NAME
E2E_APISERVER=https://127.0.0.1:$E2E_APISERVER_PORT
E2E_KUBELET=https://127.0.0.1:$E2E_KUBELET_PORT
E2E_TEST_IMAGE=$TEST_IMAGE
E2E_BRIDGE=1
E2E_IMAGE_LOADER=ctr
E2E_CONTAINERD_SOCK=$E2E_CONTAINERD_SOCK
E2E_CTR=$E2E_DEBIAN/usr/bin/ctr
EOF
}

save_host_state
make_pki
start_etcd
start_apiserver
start_controllers
start_containerd
start_kubelet
install_snapshot_crds
write_cluster_env
echo "local cluster up in $((SECONDS - started))s (kubectl --kubeconfig $E2E_KUBECONFIG)"
