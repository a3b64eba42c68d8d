#!/usr/bin/env bash
# The local-cluster e2e, from nothing to nothing: bring the cluster up (up.sh), run the suite (vitest, cases/),
# tear it down (down.sh, also when bring-up or the suite fails). Needs root, `npm run build` and
# scripts/install-e2e-tools.sh. Extra arguments go to vitest (a file filter, -t 'name').
# Holds a lock for the whole run: two runs on one machine would fight over ports, sysctls and iptables; a second
# run waits for the first. The vitest JSON report goes to .run/e2e-vitest.json, logs to .run/e2e/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"
cd "$E2E_REPO"
[ -f dist/main.js ] || { echo "dist/main.js missing: run npm run build" >&2; exit 1; }

mkdir -p "$E2E_LOCK"
exec 9<"$E2E_LOCK"
if ! flock -n 9; then
  echo "another local-cluster e2e run holds $E2E_LOCK: waiting for it"
  flock -w 1800 9 || { echo "gave up waiting for $E2E_LOCK" >&2; exit 1; }
fi

# A previous run that was killed before its teardown left its cluster behind: take it down first.
bash "$here/down.sh"
# The teardown's verdict counts too: a run that leaves mounts, loops or processes behind fails.
trap 'bash "$here/down.sh" || { echo "local-cluster teardown was not clean" >&2; exit 1; }' EXIT
bash "$here/up.sh"
# external-storage/run.sh runs another suite on the same cluster: its own config and report.
config=${E2E_VITEST_CONFIG:-$here/vitest.config.ts}
report=${E2E_VITEST_JSON:-.run/e2e-vitest.json}
rm -f "$report"
npx vitest run --config "$config" --reporter=default --reporter=json --outputFile.json="$report" "$@"
