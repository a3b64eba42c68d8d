#!/usr/bin/env bash
# Runs the driver from a fresh checkout: installs npm dependencies if missing, builds, and starts hostpath-csi with
# its built-in defaults (socket unix:///run/hostpath-csi/csi.sock, state in /var/lib/hostpath-csi, every service,
# node ID = host name). No cluster is needed; talk to it with any CSI client (csc, csi-sanity). Extra arguments are
# passed to the driver, e.g. scripts/run.sh --state-dir /tmp/csi-state --log-format pretty
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  bash scripts/npm-install.sh
fi
npm run --silent build
# The bundled build with the image's Node.js options (its ENV NODE_OPTIONS), as the image runs it.
exec node --max-semi-space-size=1 dist/bundle/main.js "$@"
