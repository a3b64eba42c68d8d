#!/usr/bin/env bash
# Regenerates src/generated/ from proto/csi.proto with exactly the options the server loads the proto with
# (proto/loader-options.json is read by both this script and src/server/proto.ts), so the generated types never lie.
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

if [ "${1:-}" = "--check" ]; then
  if ! diff -r "$out" src/generated >/dev/null; then
    echo "src/generated is stale: run 'npm run codegen' and commit the result" >&2
    diff -r "$out" src/generated | head -20 >&2
    exit 1
  fi
  echo "src/generated is up to date"
fi
