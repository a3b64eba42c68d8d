#!/usr/bin/env bash
# What the test VM runs (test/vm/run.sh test/vm/suite.sh), as root on Debian's distribution kernel, on the dist/
# and node_modules of the checkout it shares: the parts this project's own hosts must skip.
#   integration  test/integration/size-limits.test.ts: quota volumes on XFS and on ext4 (project feature) mounted
#                with prjquota (fill to EDQUOT, grow while published, stats from the project), and online resize2fs
#                of a mounted ext4 image volume (needs CAP_SYS_RESOURCE, which the VM's root has);
#                test/integration/quota.test.ts: one project per volume, limits and usage read back from the
#                kernel, clones under their own project, GetCapacity reservations, delete removes limit and usage
#   sanity       csi-sanity's quota configuration on an XFS and on an ext4 prjquota state filesystem
#   faults       the fault harness's crash rounds (SIGKILL, restart, retries, simulated reboots, invariants) with
#                quota and dir volumes on an XFS and an ext4 prjquota state filesystem; VM_FAULTS_ROUNDS (4) each, a reboot every 2
# Results go to .run/vm/ (vitest.json, sanity/<config>/junit.xml, vitest-faults-<fs>.json, faults-<fs>/), where
# scripts/summarize-tests.js counts them.
# Usage: test/vm/suite.sh [integration|sanity|faults ...]   (default: all)
set -uo pipefail
cd "$(dirname "$0")/../.."
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(integration sanity faults)
# Under software emulation a driver takes seconds to start and a test minutes, not the host's 10 s / 30 s; on a
# loaded host a driver restart has taken 30 s.
export HOSTPATH_CSI_TEST_READY_MS=120000
status=0
for part in "${parts[@]}"; do
  start=$SECONDS
  case "$part" in
    integration)
      rm -f .run/vm/vitest.json
      node node_modules/vitest/vitest.mjs run test/integration/size-limits.test.ts test/integration/quota.test.ts --testTimeout=300000 \
        --hookTimeout=300000 --reporter=default --reporter=json --outputFile.json=.run/vm/vitest.json || status=1 ;;
    sanity)
      rm -rf .run/vm/sanity
      SANITY_RESULTS_DIR=.run/vm/sanity bash test/sanity/run.sh quota quota-ext4 || status=1 ;;
    faults)
      for fs in xfs ext4; do
        rm -rf ".run/vm/faults-$fs" ".run/vm/vitest-faults-$fs.json"
        FAULTS_KINDS=quota,dir FAULTS_QUOTA_FS=$fs FAULTS_RESULTS_DIR=".run/vm/faults-$fs" \
          FAULTS_ROUNDS=${VM_FAULTS_ROUNDS:-4} FAULTS_REBOOT_EVERY=2 \
          node node_modules/vitest/vitest.mjs run --config test/faults/vitest.config.ts test/faults/crash.test.ts \
          --reporter=default --reporter=json --outputFile.json=".run/vm/vitest-faults-$fs.json" || status=1
      done ;;
    *) echo "unknown part $part" >&2; exit 2 ;;
  esac
  echo "vm suite: $part took $((SECONDS - start))s"
done
# What the tests left behind would be gone with the VM anyway; say so loudly, the host tests are held to it too.
leftover=$(grep -E ' /tmp/' /proc/self/mounts; losetup -a)
if [ -n "$leftover" ]; then echo "vm suite: left behind:"; echo "$leftover"; status=1; fi
exit $status
