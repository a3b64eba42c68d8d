#!/usr/bin/env bash
# Kubernetes' External Storage e2e suite against the driver deployed as pods on the local cluster: run.sh of the
# local cluster (its lock, bring-up and teardown) with this directory's vitest config. Needs what run.sh needs and
# the binaries build-binaries.sh makes (e2e.test, ginkgo, the CNI plugins) and the images of build-images.sh.
# E2E_PROCS: parallel ginkgo processes (default 4); E2E_FOCUS: another --focus (default: all of this driver's specs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
E2E_VITEST_CONFIG="$here/vitest.config.ts" E2E_VITEST_JSON=.run/external-storage-vitest.json \
  exec bash "$here/../run.sh" "$@"
