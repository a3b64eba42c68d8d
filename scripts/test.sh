#!/usr/bin/env bash
# The whole test run, from a fresh checkout: install (npm ci, pinned Go tools), check the generated code is current,
# type-check, unit + integration tests (npm test), then the csi-sanity matrix. .ci/run calls exactly this.
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
phase "generated code is current" bash scripts/codegen.sh --check
phase "type-check" npm run --silent typecheck
rm -rf .run/vitest.json .run/sanity
phase "unit + integration (npm test)" npm test -- --reporter=default --reporter=json --outputFile.json=.run/vitest.json
phase "csi-sanity matrix" bash test/sanity/run.sh

echo "== timings"
printf '%s\n' "${phases[@]}"
node scripts/summarize-tests.js
