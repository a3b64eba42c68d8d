#!/usr/bin/env bash
# The whole test run, from a fresh checkout: install (locked npm dependencies, pinned Go tools, kustomize and helm,
# the container image's Node major), check the generated code is current, type-check, unit + integration + deploy
# tests (npm test), the unit + integration tests again on the image's Node major, the container image built from the
# Dockerfile and checked (scripts/build-image.sh), the csi-sanity matrix, the fault
# harness at its CI budget (test/faults/run.sh: crash rounds, torn records, fuzzing, storms; seeds printed), a
# smoke run of the bench, then the local-cluster e2e (a real kubelet and API server running that image and the
# sidecars as pods; one case drives dist/ as host processes: test/e2e/local-cluster) and Kubernetes' External Storage
# suite against the same pods (test/e2e/local-cluster/external-storage, without its [Slow] specs). Last, what this host's kernel cannot do, in a VM on Debian's distribution kernel
# (test/vm/: quota volumes on XFS and ext4 prjquota, online ext4 growth, csi-sanity's quota configurations).
# .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

phases=()
phase() { # name command...
  local name=$1; shift
  local start=$SECONDS
  echo "== $name"
  "$@"
  phases+=("$(printf '%-28s %5ss' "$name" $((SECONDS - start)))")
}

phase "npm install (locked)" bash scripts/npm-install.sh
phase "install Go tools" bash scripts/install-tools.sh
phase "install kustomize and helm" bash scripts/install-deploy-tools.sh
phase "install e2e cluster tools" bash scripts/install-e2e-tools.sh
IMAGE_NODE_MAJOR=$(sed -n 's/^ARG NODE_IMAGE=node:\([0-9]*\)-.*/\1/p' Dockerfile)
phase "install Node $IMAGE_NODE_MAJOR (the image's)" bash scripts/install-node.sh "$IMAGE_NODE_MAJOR"
phase "generated code is current" bash scripts/codegen.sh --check
phase "type-check" npm run --silent typecheck
rm -rf .run/vitest.json .run/sanity .run/vitest-faults.json .run/faults .run/e2e-vitest.json .run/vm .run/external-storage
phase "unit + integration (npm test)" npm test -- --reporter=default --reporter=json --outputFile.json=.run/vitest.json
phase "unit + integration on Node $IMAGE_NODE_MAJOR" ".tools/node-$IMAGE_NODE_MAJOR/bin/node" node_modules/vitest/vitest.mjs run test/unit test/integration
phase "container image (Dockerfile)" bash scripts/build-image.sh
phase "csi-sanity matrix" bash test/sanity/run.sh
phase "fault harness (CI budget)" bash test/faults/run.sh
# Every bench scenario end to end at tiny sizes, so the bench cannot rot; it asserts answers, never timings.
phase "bench smoke (tiny sizes)" npm run --silent bench -- --smoke --reference=none --out=.run/bench-smoke
phase "e2e on a local cluster" bash test/e2e/local-cluster/run.sh
phase "Kubernetes External Storage" bash test/e2e/local-cluster/external-storage/run.sh
# No qemu or no boot is a failure, not a skip: the quota kind has no other place to run.
phase "build the test VM (cached)" bash test/vm/build.sh
phase "quota + growth in a VM" bash test/vm/run.sh test/vm/suite.sh

echo "== timings"
printf '%s\n' "${phases[@]}"
node scripts/summarize-tests.js
