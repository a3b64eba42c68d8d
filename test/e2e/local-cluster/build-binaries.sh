#!/usr/bin/env bash
# Builds the binaries of the local-cluster e2e from the Go module proxy at pinned versions, into .tools/e2e/bin:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kubectl   (k8s/go.mod, a wrapper module)
#   csi-provisioner, csi-attacher, csi-resizer, csi-snapshotter, snapshot-controller, csi-snapshot-metadata
#   (the sidecars' own modules)
#   hostpath-csi-registrar, hostpath-csi-livenessprobe  (registrar/, livenessprobe/: stand-ins for
#   node-driver-registrar and livenessprobe; see versions.sh)
#   e2e.test, agnhost, ginkgo  (k8s/go.mod: Kubernetes' own e2e binary, the agnhost test image's binary, and the
#   ginkgo CLI that runs e2e.test in parallel processes; external-storage/ runs them)
# Each binary has a stamp (.tools/e2e/bin/.<name>.version: version + build flags); a binary whose stamp matches is
# not rebuilt, and a rebuild after a lost .tools reuses Go's build cache.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
# shellcheck source=versions.sh
. "$here/versions.sh"

bin="$root/.tools/e2e/bin"
mkdir -p "$bin" "$root/.tools/e2e/crds" "$root/.tools/e2e/snapshot-controller"
# Static binaries, as upstream releases them; -trimpath so the build cache does not depend on where the module is.
export CGO_ENABLED=0 GOFLAGS="-mod=mod -trimpath"

up_to_date() { # name stamp
  [ -x "$bin/$1" ] && [ "$(cat "$bin/.$1.version" 2>/dev/null)" = "$2" ]
}

stamp_of() { # version ldflags
  printf '%s %s' "$1" "$(printf '%s' "$2" | sha256sum | cut -c1-12)"
}

module_dir() { # module@version -> its read-only directory in the module cache
  (cd "$here/k8s" && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
}

build_kubernetes() {
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local ldflags="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  local stamp cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl) need=() c
  stamp=$(stamp_of "$K8S_VERSION" "$ldflags")
  for c in "${cmds[@]}"; do up_to_date "$c" "$stamp" || need+=("$c"); done
  [ ${#need[@]} -eq 0 ] && return
  echo "building Kubernetes $K8S_VERSION: ${need[*]}"
  (cd "$here/k8s" && go build -ldflags "$ldflags" -o "$bin/" "${need[@]/#/k8s.io/kubernetes/cmd/}")
  for c in "${need[@]}"; do echo "$stamp" > "$bin/.$c.version"; done
}

# e2e.test and agnhost come from the same module as the cluster, stamped with the same version, so the suite tests
# the release the cluster runs; ginkgo at the version k8s.io/kubernetes requires (its CLI and e2e.test must agree).
build_e2e_tools() {
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local ldflags="-s -w" pkg stamp
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  done
  stamp=$(stamp_of "$K8S_VERSION" "$ldflags")
  if ! up_to_date e2e.test "$stamp"; then
    echo "building e2e.test $K8S_VERSION"
    (cd "$here/k8s" && go test -c -ldflags "$ldflags" -o "$bin/e2e.test" k8s.io/kubernetes/test/e2e)
    echo "$stamp" > "$bin/.e2e.test.version"
  fi
  if ! up_to_date agnhost "$stamp"; then
    echo "building agnhost $K8S_VERSION"
    (cd "$here/k8s" && go build -ldflags "$ldflags" -o "$bin/agnhost" k8s.io/kubernetes/test/images/agnhost)
    echo "$stamp" > "$bin/.agnhost.version"
  fi
  local ginkgo
  ginkgo=$(cd "$here/k8s" && go list -m -f '{{.Version}}' github.com/onsi/ginkgo/v2)
  stamp=$(stamp_of "$ginkgo" "-s -w")
  if ! up_to_date ginkgo "$stamp"; then
    echo "building ginkgo $ginkgo"
    (cd "$here/k8s" && go build -ldflags "-s -w" -o "$bin/ginkgo" github.com/onsi/ginkgo/v2/ginkgo)
    echo "$stamp" > "$bin/.ginkgo.version"
  fi
}

# The sidecars' go.mod files have replace directives, so `go install module@version` refuses them: build inside the
# downloaded module instead (its go.sum pins every dependency). A replace that points into the repository
# (external-snapshotter: `client/v8 => ./client`) names a nested module, which the module zip leaves out: then build
# in a writable copy whose go.mod takes that nested module from the proxy at the same version (the same tag).
build_sidecar() { # name module version cmd-dir [nested-module-version]
  local name=$1 module=$2 version=$3 cmd=$4 nested_version=${5:-$3}
  local ldflags="-s -w -X main.version=$version" stamp dir
  stamp=$(stamp_of "$version" "$ldflags")
  up_to_date "$name" "$stamp" && return
  echo "building $name $version"
  dir=$(module_dir "$module@$version")
  local nested
  nested=$(sed -n 's#^replace \([^ ]*\) => \./.*#\1#p' "$dir/go.mod")
  if [ -n "$nested" ]; then
    local copy="$root/.tools/e2e/src/${module//\//_}@$version" m
    if [ ! -f "$copy/.complete" ]; then
      rm -rf "$copy" && mkdir -p "$copy" && cp -r "$dir/." "$copy" && chmod -R u+w "$copy"
      for m in $nested; do (cd "$copy" && go mod edit -replace "$m=$m@$nested_version"); done
      touch "$copy/.complete"
    fi
    dir=$copy
  fi
  (cd "$dir" && go build -ldflags "$ldflags" -o "$bin/$name" "./$cmd")
  echo "$stamp" > "$bin/.$name.version"
}

build_standin() { # name source-dir: a stand-in of this repository (see versions.sh)
  local name=$1 src="$here/$2" stamp
  stamp=$(cat "$src/main.go" "$src/go.mod" "$src/go.sum" | sha256sum | cut -c1-16)
  up_to_date "$name" "$stamp" && return
  echo "building $name"
  (cd "$src" && go build -ldflags "-s -w" -o "$bin/$name" .)
  echo "$stamp" > "$bin/.$name.version"
}

# The snapshot and group-snapshot CRDs and the snapshot-controller's RBAC and Deployment, from the module at the
# csi-snapshotter version: the files docs/kubernetes.md tells users to apply. With the groupsnapshot CRDs present the
# suite runs the snapshot-controller with its CSIVolumeGroupSnapshot gate (lib/deployment.ts).
copy_snapshot_manifests() { # version
  local dir crd
  dir=$(module_dir "github.com/kubernetes-csi/external-snapshotter/client/v8@$1") # the CRDs live in client/
  for crd in snapshot.storage.k8s.io_{volumesnapshotclasses,volumesnapshotcontents,volumesnapshots} \
    groupsnapshot.storage.k8s.io_{volumegroupsnapshotclasses,volumegroupsnapshotcontents,volumegroupsnapshots}; do
    install -m 0644 "$dir/config/crd/$crd.yaml" "$root/.tools/e2e/crds/"
  done
  dir=$(module_dir "github.com/kubernetes-csi/external-snapshotter/v8@$1")
  install -m 0644 "$dir"/deploy/kubernetes/snapshot-controller/{rbac,setup}-snapshot-controller.yaml \
    "$root/.tools/e2e/snapshot-controller/"
}

# The SnapshotMetadataService CRD (cbt.storage.k8s.io), from the client module the sidecar is built with.
copy_snapshot_metadata_crd() {
  local dir
  dir=$(module_dir "github.com/kubernetes-csi/external-snapshot-metadata/client@$SNAPSHOT_METADATA_CLIENT_VERSION")
  install -m 0644 "$dir/config/crd/cbt.storage.k8s.io_snapshotmetadataservices.yaml" "$root/.tools/e2e/crds/"
}

snapshotter_version=$(sidecar_version csi-snapshotter)
build_kubernetes
build_e2e_tools
build_sidecar csi-provisioner github.com/kubernetes-csi/external-provisioner/v6 \
  "$(sidecar_version csi-provisioner)" cmd/csi-provisioner
build_sidecar csi-attacher github.com/kubernetes-csi/external-attacher/v4 \
  "$(sidecar_version csi-attacher)" cmd/csi-attacher
sidecar_version csi-resizer >/dev/null # still fails the build if the manifests disagree among themselves
build_sidecar csi-resizer github.com/kubernetes-csi/external-resizer/v2 "$RESIZER_BUILD_VERSION" cmd/csi-resizer
build_sidecar csi-snapshotter github.com/kubernetes-csi/external-snapshotter/v8 "$snapshotter_version" \
  cmd/csi-snapshotter
build_sidecar snapshot-controller github.com/kubernetes-csi/external-snapshotter/v8 "$snapshotter_version" \
  cmd/snapshot-controller
# external-snapshot-metadata v0.2.0 requires its client/ module at v0.1.0 (replaced by ./client); the proxy serves
# client/v0.1.0 but not client/v0.2.0, so the nested module is taken at the version go.mod requires (versions.sh).
build_sidecar csi-snapshot-metadata github.com/kubernetes-csi/external-snapshot-metadata \
  "$(sidecar_version csi-snapshot-metadata)" cmd/csi-snapshot-metadata "$SNAPSHOT_METADATA_CLIENT_VERSION"
build_standin hostpath-csi-registrar registrar
build_standin hostpath-csi-livenessprobe livenessprobe
copy_snapshot_manifests "$snapshotter_version"
copy_snapshot_metadata_crd
