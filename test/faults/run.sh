#!/usr/bin/env bash
# The fault harness against the built driver (dist/): crash consistency with SIGKILL and reboots, torn and corrupt
# state records, a full state filesystem and non-regular entries in state folders, fuzzing of every RPC, concurrency
# storms. Needs root (real mounts and loop devices).
# Usage: test/faults/run.sh [--soak] [crash|torn|state|fuzz|storms ...]     (default: all five, CI budget)
#   --soak              ten times the rounds, fuzz cases and storm repeats (FAULTS_SOAK=1)
#   FAULTS_SEED=N       replay with the seed a run printed; FAULTS_ROUNDS, FAULTS_FUZZ_CASES, FAULTS_REBOOT_EVERY and
#                       FAULTS_STORM_REPEATS override single budgets; FAULTS_KINDS=dir,block,image picks the volume
#                       kinds (test/faults/kinds.ts; default dir,block,image)
# Figures go to .run/faults/<part>.json and the driver logs to .run/faults/<part>-driver.log; the tables for
# docs/reliability.md are printed at the end (node scripts/render-reliability.js --write updates the doc).
set -euo pipefail
cd "$(dirname "$0")/../.."
files=()
for arg in "$@"; do
  case "$arg" in
    --soak) export FAULTS_SOAK=1 ;;
    crash|torn|fuzz|storms) files+=("test/faults/${arg/torn/torn-state}.test.ts") ;;
    state) files+=("test/faults/state-faults.test.ts") ;;
    *) echo "unknown argument $arg" >&2; exit 2 ;;
  esac
done
[ -f dist/main.js ] || { echo "dist/main.js missing: run npm run build" >&2; exit 1; }
rm -rf .run/faults .run/vitest-faults.json
mkdir -p .run/faults
node node_modules/vitest/vitest.mjs run --config test/faults/vitest.config.ts \
  --reporter=default --reporter=json --outputFile.json=.run/vitest-faults.json "${files[@]}"
node scripts/render-reliability.js
