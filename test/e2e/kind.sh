#!/usr/bin/env bash
# End-to-end test on a throwaway kind cluster, for a machine with Docker, kind, kubectl and Node.js (Go as well for
# the csi-sanity step). NOT part of CI: this project's own machines have no Docker daemon, so nothing here has been
# run by the project's CI — test/deploy checks the manifests it applies without a cluster.
#
# Usage: test/e2e/kind.sh [single-node|single-node-no-attach|distributed]      (default: single-node)
#   KEEP_CLUSTER=1     keep the cluster afterwards (it is deleted otherwise, also on failure)
#   KIND_CLUSTER=name  cluster name (default hostpath-csi-e2e); KIND_NODE_IMAGE=kindest/node:v1.34.x to pick Kubernetes
#   SKIP_SANITY=1      skip csi-sanity against the in-cluster driver
#
#   SKIP_SUITE=1       skip the shared e2e suite
#
# Steps: create a one-node cluster; build the driver image and load it into kind; install the snapshot CRDs and the
# snapshot-controller; run the e2e suite the local cluster runs (test/e2e/local-cluster/cases 01-09 and 13: the
# single-node overlay as pods; see run_suite); deploy the form; run every example in examples/ and check that data
# moves (write in one pod, read in the next; snapshot, change, restore, compare; expand and write past the old end);
# run csi-sanity through a TCP proxy pod next to the driver socket; delete the cluster. Needs `npm ci` for the suite.
set -euo pipefail
cd "$(dirname "$0")/../.."

form=${1:-single-node}
case "$form" in single-node|single-node-no-attach|distributed) ;; *) echo "unknown form $form" >&2; exit 2 ;; esac
cluster=${KIND_CLUSTER:-hostpath-csi-e2e}
version=$(node -p 'require("./package.json").version')
image=ghcr.io/hostpath-csi/hostpath-csi:$version
snapshotter=v8.6.0
upstream=https://raw.githubusercontent.com/kubernetes-csi/external-snapshotter/$snapshotter
ns=hostpath-csi
ex=examples
work=$(mktemp -d)
pf_pid=""

for tool in docker kind kubectl node; do
  command -v "$tool" >/dev/null || { echo "kind.sh needs $tool on PATH" >&2; exit 1; }
done

log() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "== diagnostics (exit $rc)" >&2
    kubectl get pods,pvc,volumesnapshots -A -o wide >&2 || true
    kubectl -n "$ns" logs -l app.kubernetes.io/name=hostpath-csi --all-containers --tail=40 --prefix >&2 || true
  fi
  [ -z "$pf_pid" ] || kill "$pf_pid" 2>/dev/null || true
  rm -rf "$work"
  if [ "${KEEP_CLUSTER:-0}" = 1 ]; then echo "kept cluster $cluster"; else kind delete cluster --name "$cluster"; fi
}
trap cleanup EXIT

in_pod() { kubectl exec "$1" -- sh -c "$2"; }                        # pod command
wait_ready() { kubectl wait --for=condition=Ready "pod/$1" --timeout=180s >/dev/null; }
reapply_pod() { # file pod: delete the pod and create it again from its example file (its PVC stays)
  kubectl delete pod "$2" --wait=true >/dev/null
  kubectl apply -f "$1" >/dev/null
  wait_ready "$2"
}
expect() { # what actual expected
  [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
  echo "ok - $1"
}
driver_pod() { # the driver pod on the node where pod $1 runs
  local node
  node=$(kubectl get pod "$1" -o jsonpath='{.spec.nodeName}')
  kubectl -n "$ns" get pods -l app.kubernetes.io/name=hostpath-csi --field-selector "spec.nodeName=$node" \
    -o jsonpath='{.items[0].metadata.name}'
}
in_driver() { kubectl -n "$ns" exec "$1" -c hostpath-csi -- sh -c "$2"; }   # driver-pod command

# The suite's view of this cluster (test/e2e/local-cluster/lib/cluster-env.ts says what each key means; test/deploy
# checks that this function writes what the suite reads). The node is kind's container: files on it are read through
# docker exec; the snapshot-controller is the one installed above; images are loaded with kind.
suite_image=busybox:1.36.1
write_cluster_env() { # root
  cat > "$1/cluster.env" <<EOF
E2E_ROOT=$1
E2E_BIN=$(dirname "$(command -v kubectl)")
E2E_LOGS=$1/logs
E2E_KUBECONFIG=$1/kubeconfig
E2E_KUBELET_DIR=/var/lib/kubelet
E2E_STATE_DIR=/var/lib/hostpath-csi
E2E_NODE_NAME=$cluster-control-plane
E2E_TEST_IMAGE=$suite_image
E2E_IMAGE_LOADER=kind
E2E_KIND_CLUSTER=$cluster
E2E_NODE_EXEC=docker exec $cluster-control-plane
E2E_SNAPSHOT_CONTROLLER=installed
EOF
}

# The same cases as the local cluster's run.sh, against this cluster: 01-09 (the single-node overlay as pods, the
# driver restart deleting its pod) and 13 (rolling upgrade). Not 10-12: they need the local cluster (host processes,
# its loopback-only network, the driver's pid on the host).
run_suite() {
  local root="$work/e2e"
  mkdir -p "$root/logs"
  kind get kubeconfig --name "$cluster" > "$root/kubeconfig"
  docker pull "$suite_image"
  kind load docker-image "$suite_image" --name "$cluster"
  write_cluster_env "$root"
  E2E_ROOT="$root" E2E_DEPLOYMENT=pods npx vitest run --config test/e2e/local-cluster/vitest.config.ts cases/0 cases/13
}

log "kind cluster $cluster"
kind create cluster --name "$cluster" ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"} --wait 180s
kubectl config use-context "kind-$cluster" >/dev/null

log "image $image"
docker build -t "$image" .
kind load docker-image "$image" --name "$cluster"

log "snapshot CRDs and snapshot-controller $snapshotter"
for crd in volumesnapshotclasses volumesnapshotcontents volumesnapshots; do
  kubectl apply -f "$upstream/client/config/crd/snapshot.storage.k8s.io_$crd.yaml"
  kubectl wait --for=condition=Established "crd/$crd.snapshot.storage.k8s.io" --timeout=60s
done
kubectl apply -f "$upstream/deploy/kubernetes/snapshot-controller/rbac-snapshot-controller.yaml"
kubectl apply -f "$upstream/deploy/kubernetes/snapshot-controller/setup-snapshot-controller.yaml"
kubectl -n kube-system set image deployment/snapshot-controller \
  "snapshot-controller=registry.k8s.io/sig-storage/snapshot-controller:$snapshotter"
if [ "$form" = distributed ]; then
  kubectl patch clusterrole snapshot-controller-runner --type=json \
    -p '[{"op":"add","path":"/rules/-","value":{"apiGroups":[""],"resources":["nodes"],"verbs":["get","list","watch"]}}]'
  kubectl -n kube-system patch deployment snapshot-controller --type=json \
    -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--enable-distributed-snapshotting"}]'
fi
kubectl -n kube-system rollout status deployment/snapshot-controller --timeout=300s

if [ "${SKIP_SUITE:-0}" = 1 ]; then
  log "the e2e suite: skipped (SKIP_SUITE=1)"
else
  log "the e2e suite (test/e2e/local-cluster/cases) against this cluster"
  run_suite
fi

log "deploy the $form form"
kubectl apply -k "deploy/kubernetes/overlays/$form"
if [ "$form" = distributed ]; then
  kubectl -n "$ns" rollout status daemonset/hostpath-csi-node --timeout=300s
else
  kubectl -n "$ns" rollout status statefulset/hostpath-csi-plugin --timeout=300s
fi
for _ in $(seq 60); do
  kubectl get csinode -o jsonpath='{.items[*].spec.drivers[*].name}' | grep -qw hostpath.csi.dev && break
  sleep 2
done
kubectl get csinode -o jsonpath='{.items[*].spec.drivers[*].name}' | grep -qw hostpath.csi.dev ||
  fail "the driver never registered with kubelet"

log "filesystem volume: write in one pod, read in the next"
kubectl apply -f "$ex/pvc-pod.yaml"
wait_ready hostpath-pod
in_pod hostpath-pod 'echo first > /data/file && sync'
reapply_pod "$ex/pvc-pod.yaml" hostpath-pod
expect "data survives a new pod" "$(in_pod hostpath-pod 'cat /data/file')" first

log "raw block volume"
kubectl apply -f "$ex/block-pvc-pod.yaml"
wait_ready hostpath-block-pod
in_pod hostpath-block-pod 'printf hostpath-block | dd of=/dev/xvda bs=1M seek=1 conv=notrunc 2>/dev/null && sync'
reapply_pod "$ex/block-pvc-pod.yaml" hostpath-block-pod
expect "block data survives a new pod" \
  "$(in_pod hostpath-block-pod 'dd if=/dev/xvda bs=1M skip=1 count=1 2>/dev/null | head -c 14')" hostpath-block
in_pod hostpath-block-pod 'dd if=/dev/zero of=/dev/xvda bs=1M seek=64 count=1 2>/dev/null' &&
  fail "a write past the end of a 64Mi block volume succeeded"
echo "ok - block volume is exactly its size"

log "clone"
kubectl apply -f "$ex/clone.yaml"
wait_ready hostpath-clone-pod
expect "clone holds the source's data" "$(in_pod hostpath-clone-pod 'cat /data/file')" first
in_pod hostpath-clone-pod 'echo changed > /data/file'
expect "writing the clone leaves the source alone" "$(in_pod hostpath-pod 'cat /data/file')" first

log "snapshot, change, restore, compare"
kubectl apply -f "$ex/snapshot.yaml"
kubectl wait volumesnapshot/hostpath-snapshot --for=jsonpath='{.status.readyToUse}'=true --timeout=180s
in_pod hostpath-pod 'echo second > /data/file && sync'
kubectl apply -f "$ex/restore.yaml"
wait_ready hostpath-restore-pod
expect "restore holds the data at snapshot time" "$(in_pod hostpath-restore-pod 'cat /data/file')" first
expect "the source keeps its newer data" "$(in_pod hostpath-pod 'cat /data/file')" second

# In the distributed form the resizer only marks the PV and kubelet's NodeExpandVolume grows the volume.
log "online expansion of a block volume"
kubectl apply -f "$ex/expansion.yaml"
wait_ready hostpath-expand-pod
write_past='printf grown | dd of=/dev/xvda bs=1M seek=96 conv=notrunc 2>/dev/null && sync'
in_pod hostpath-expand-pod "$write_past" && fail "wrote at 96Mi into a 64Mi volume"
kubectl patch pvc hostpath-expand-pvc -p '{"spec":{"resources":{"requests":{"storage":"128Mi"}}}}'
kubectl wait pvc/hostpath-expand-pvc --for=jsonpath='{.status.capacity.storage}'=128Mi --timeout=180s
for _ in $(seq 30); do in_pod hostpath-expand-pod "$write_past" && break; sleep 2; done
expect "a write past the old end lands after expansion" \
  "$(in_pod hostpath-expand-pod 'dd if=/dev/xvda bs=1M skip=96 count=1 2>/dev/null | head -c 5')" grown

log "inline ephemeral volume"
kubectl apply -f "$ex/ephemeral-pod.yaml"
wait_ready hostpath-ephemeral-pod
in_pod hostpath-ephemeral-pod 'echo scratch > /scratch/f'
expect "ephemeral volume is writable" "$(in_pod hostpath-ephemeral-pod 'cat /scratch/f')" scratch
eph_driver=$(driver_pod hostpath-ephemeral-pod)
[ -n "$(in_driver "$eph_driver" 'ls /var/lib/hostpath-csi/ephemeral')" ] || fail "no ephemeral volume on the node"
kubectl delete pod hostpath-ephemeral-pod --wait=true
for _ in $(seq 30); do [ -z "$(in_driver "$eph_driver" 'ls /var/lib/hostpath-csi/ephemeral')" ] && break; sleep 2; done
expect "ephemeral volume is deleted with its pod" "$(in_driver "$eph_driver" 'ls /var/lib/hostpath-csi/ephemeral')" ""

log "ReadWriteOncePod"
kubectl apply -f "$ex/rwop.yaml"
running() { kubectl get pods -l example=rwop --field-selector=status.phase=Running -o name; }
for _ in $(seq 60); do [ -n "$(running)" ] && break; sleep 3; done
sleep 15
expect "exactly one pod runs with a ReadWriteOncePod claim" "$(running | wc -l | tr -d ' ')" 1
first_pod=$(running)
kubectl delete "$first_pod" --wait=true
for _ in $(seq 60); do [ -n "$(running)" ] && break; sleep 3; done
expect "the other pod runs once the first is gone" "$(running | wc -l | tr -d ' ')" 1

log "examples cleaned up"
kubectl delete -f "$ex/" --ignore-not-found --wait=true >/dev/null
for _ in $(seq 60); do [ -z "$(kubectl get pv -o name)" ] && break; sleep 2; done
expect "every PersistentVolume is deleted" "$(kubectl get pv -o name)" ""

if [ "${SKIP_SANITY:-0}" = 1 ]; then
  log "csi-sanity: skipped (SKIP_SANITY=1)"
else
  log "csi-sanity against the in-cluster driver"
  [ -x .tools/bin/csi-sanity ] || bash scripts/install-tools.sh
  driver=$(kubectl -n "$ns" get pods -l app.kubernetes.io/name=hostpath-csi -o jsonpath='{.items[0].metadata.name}')
  node=$(kubectl -n "$ns" get pod "$driver" -o jsonpath='{.spec.nodeName}')
  # The proxy forwards TCP to the driver's unix socket (what socat does, with the node binary the image already has).
  kubectl apply -f - <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: csi-sanity-proxy
  namespace: $ns
spec:
  nodeName: $node
  containers:
    - name: proxy
      image: $image
      command:
        - node
        - -e
        - |
          const net = require('net');
          net.createServer((c) => {
            const u = net.connect('/csi/csi.sock');
            c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
            c.pipe(u).pipe(c);
          }).listen(10000);
      volumeMounts:
        - name: socket-dir
          mountPath: /csi
  volumes:
    - name: socket-dir
      hostPath:
        path: /var/lib/kubelet/plugins/hostpath.csi.dev
        type: Directory
EOF
  kubectl -n "$ns" wait --for=condition=Ready pod/csi-sanity-proxy --timeout=120s
  kubectl -n "$ns" port-forward pod/csi-sanity-proxy 10000:10000 >"$work/port-forward.log" 2>&1 &
  pf_pid=$!
  for _ in $(seq 30); do (exec 3<>/dev/tcp/127.0.0.1/10000) 2>/dev/null && break; sleep 1; done
  # Path commands run inside the driver container, where the driver mounts (csi-sanity passes the path as $1).
  exec_driver="kubectl -n $ns exec $driver -c hostpath-csi --"
  # The generated scripts get the path as their $1, expanded when csi-sanity runs them, not here.
  # shellcheck disable=SC2016
  {
    printf '#!/bin/sh\n%s mktemp -d "$1.XXXXXX"\n' "$exec_driver" >"$work/mkdir"
    printf '#!/bin/sh\n%s rm -rf --one-file-system "$1"\n' "$exec_driver" >"$work/rmdir"
    printf '#!/bin/sh\n%s sh -c %s _ "$1"\n' "$exec_driver" \
      "'if [ -f \"\$1\" ]; then echo file; elif [ -d \"\$1\" ]; then echo directory; elif [ -e \"\$1\" ]; then echo other; else echo not_found; fi'" \
      >"$work/check"
  }
  chmod +x "$work/mkdir" "$work/rmdir" "$work/check"
  # The driver refuses target and staging paths outside kubelet's directory (HOSTPATH_CSI_ALLOWED_PATH_ROOT in the
  # manifests), so csi-sanity's paths live there too, inside the driver container's Bidirectional plugins mount.
  sanity_root=/var/lib/kubelet/plugins/csi-sanity
  in_driver "$driver" "mkdir -p $sanity_root"
  .tools/bin/csi-sanity --csi.endpoint dns:///127.0.0.1:10000 \
    --csi.mountdir "$sanity_root/target" --csi.stagingdir "$sanity_root/staging" \
    --csi.createmountpathcmd "$work/mkdir" --csi.createstagingpathcmd "$work/mkdir" \
    --csi.removemountpathcmd "$work/rmdir" --csi.removestagingpathcmd "$work/rmdir" \
    --csi.checkpathcmd "$work/check" \
    --csi.testvolumesize 67108864 --csi.testvolumeexpandsize 134217728 \
    --ginkgo.no-color --ginkgo.timeout 30m
  in_driver "$driver" "rmdir $sanity_root" || echo "warning: csi-sanity left paths under $sanity_root" >&2
fi

log "e2e passed: $form"
