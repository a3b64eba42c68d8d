#!/usr/bin/env node
// Builds dist/bundle/: the launcher that enables V8's compile cache (main.js, from src/launch.ts) and the driver with
// its npm dependencies in one file (driver.js, from src/main.ts). The image copies dist/bundle/ to /app/dist/, so
// production still starts `node /app/dist/main.js`. One file to read and compile instead of ~300 saves start-up time
// and memory (see docs/performance.md). Left outside the bundle: koffi (a native .node addon, loaded from node_modules) and
// pino-pretty (only for --log-format pretty). tsc's dist/ stays as it is for the tests.
'use strict';
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
  legalComments: 'none',
};

async function main() {
  await esbuild.build({
    ...common,
    entryPoints: [path.join(root, 'src', 'main.ts')],
    outfile: path.join(root, 'dist', 'bundle', 'driver.js'),
    external: ['koffi', 'pino-pretty'],
  });
  await esbuild.build({
    ...common,
    entryPoints: [path.join(root, 'src', 'launch.ts')],
    outfile: path.join(root, 'dist', 'bundle', 'main.js'),
    // src/launch.ts loads './main' (tsc's dist/main.js); here it loads the bundled driver beside it instead.
    plugins: [{ name: 'driver-beside', setup: (b) => b.onResolve({ filter: /^\.\/main$/ }, () => ({ path: './driver', external: true })) }],
  });
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
