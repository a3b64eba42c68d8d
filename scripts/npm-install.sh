#!/usr/bin/env bash
# Installs the npm dependencies exactly as package-lock.json pins them. `npm ci` is tried first; npm 11 writes lock
# files that record only this platform's optional native packages (rollup's, esbuild's) and then `npm ci` refuses
# its own lock file (npm/cli#4828, #8320). In that case the same locked versions are installed with
# `npm install --no-save`, which never rewrites package.json or the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! npm ci --no-audit --no-fund 2>/tmp/hostpath-csi-npm-ci.$$; then
  if grep -q "can only install packages when your package.json and package-lock.json" /tmp/hostpath-csi-npm-ci.$$; then
    echo "npm ci refused the lock file's platform-only optional packages (npm/cli#4828); installing the locked versions with npm install --no-save"
    npm install --no-save --no-audit --no-fund
  else
    cat /tmp/hostpath-csi-npm-ci.$$ >&2
    rm -f /tmp/hostpath-csi-npm-ci.$$
    exit 1
  fi
fi
rm -f /tmp/hostpath-csi-npm-ci.$$
