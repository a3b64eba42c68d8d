#!/usr/bin/env bash
# Regenerates src/generated/ from proto/csi.proto with exactly the options the server loads the proto with
# (proto/loader-options.json is read by both this script and src/server/proto.ts), so the generated types never lie.
# It also writes proto/csi.json, the descriptor the server loads at start-up (scripts/proto-json.js).
# --check regenerates into a temporary directory and fails if the committed output differs.
set -euo pipefail
cd "$(dirname "$0")/.."

opts=(--grpcLib=@grpc/grpc-js)
while IFS= read -r flag; do opts+=("$flag"); done < <(node -e '
  const o = require("./proto/loader-options.json");
  for (const [k, v] of Object.entries(o)) console.log(v === true ? `--${k}` : `--${k}=${v}`);
')

out=src/generated
if [ "${1:-}" = "--check" ]; then out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; fi

rm -rf "${out:?}"/*
npx proto-loader-gen-types "${opts[@]}" --outDir="$out" proto/csi.proto >/dev/null
json=proto/csi.json
if [ "${1:-}" = "--check" ]; then json=$(mktemp); trap 'rm -rf "$out" "$json"' EXIT; fi
node scripts/proto-json.js "$json"

if [ "${1:-}" = "--check" ]; then
  if ! diff -r "$out" src/generated >/dev/null; then
    echo "src/generated is stale: run 'npm run codegen' and commit the result" >&2
    diff -r "$out" src/generated | head -20 >&2
    exit 1
  fi
  if ! cmp -s "$json" proto/csi.json; then
    echo "proto/csi.json is stale: run 'npm run codegen' and commit the result" >&2
    exit 1
  fi
  echo "src/generated and proto/csi.json are up to date"
fi
