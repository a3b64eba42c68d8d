#!/usr/bin/env bash
# Kubernetes' External Storage e2e suite against the driver deployed as pods on the local cluster: run.sh of the
# local cluster (its lock, bring-up and teardown) with this directory's vitest config. Needs what run.sh needs and
# the binaries build-binaries.sh makes (e2e.test, ginkgo) and the images of build-images.sh (both run by
# scripts/install-e2e-tools.sh).
# E2E_PROCS: parallel ginkgo processes (default 6; they mostly wait on pods, not on CPU). E2E_FOCUS: another --focus
# (default: all of this driver's specs). E2E_EXTERNAL_STORAGE=full: the [Slow] specs too (specs.ts says why CI skips
# them).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
E2E_VITEST_CONFIG="$here/vitest.config.ts" E2E_VITEST_JSON=.run/external-storage-vitest.json \
  exec bash "$here/../run.sh" "$@"
