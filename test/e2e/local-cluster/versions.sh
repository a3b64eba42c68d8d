# Pinned versions for the local-cluster e2e (sourced by the scripts here, not run).
# Kubernetes: the wrapper module k8s/go.mod pins k8s.io/kubernetes and every staging module; this must match it.
K8S_VERSION=v1.36.3

# The sidecars run at the versions the deploy/ manifests pin (sidecar_version reads them from there), built from
# the Go module proxy. Two differ, because the proxy this project can reach does not serve the pinned version:
# - csi-resizer v2.2.1 is not served (only v2.2.0 and v2.3.0 are): the e2e builds v2.2.0, the same minor.
# - node-driver-registrar and livenessprobe cannot be served at all: their go.mod says
#   `module github.com/kubernetes-csi/node-driver-registrar` (no /v2) while their tags are v2.x, which Go modules
#   reject. registrar/ is a stand-in with the same flags and the same kubelet plugin-registration protocol, and
#   livenessprobe/ one with the same flags that answers /healthz by a CSI Probe over the driver socket.
#   build-images.sh puts each into an image under the upstream name and the tag deploy/ pins.
# The snapshot-controller Deployment of external-snapshotter at the pinned csi-snapshotter version names
# snapshot-controller:v8.5.0 (upstream's file lags its tag): build-images.sh tags the v8.6.0 build so, so that
# Deployment applies unmodified.
RESIZER_BUILD_VERSION=v2.2.0
# external-snapshot-metadata (the csi-snapshot-metadata sidecar, pinned in deploy/) keeps its API types in a nested
# client/ module that its go.mod requires at v0.1.0; the proxy serves client v0.1.0 only.
SNAPSHOT_METADATA_CLIENT_VERSION=v0.1.0

# sidecar_version IMAGE-NAME: the tag deploy/kubernetes pins for registry.k8s.io/sig-storage/IMAGE-NAME. Fails if
# the overlays disagree, so the e2e never silently tests a version the manifests do not ship.
sidecar_version() {
  local repo_root
  repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
  local tags
  tags=$(grep -rhoE "registry\.k8s\.io/sig-storage/$1:v[0-9.]+" "$repo_root/deploy/kubernetes" |
    sed 's/.*://' | sort -u)
  if [ "$(printf '%s\n' "$tags" | grep -c .)" -ne 1 ]; then
    echo "deploy/kubernetes pins $1 at '${tags//$'\n'/ }', expected exactly one version" >&2
    return 1
  fi
  printf '%s\n' "$tags"
}

# The images build-images.sh makes and up.sh imports (no registry: pods use imagePullPolicy Never).
PAUSE_IMAGE=localhost/hostpath-csi-e2e/pause:3.10
TEST_IMAGE=localhost/hostpath-csi-e2e/busybox:1.35
