#!/usr/bin/env node
/**
 * What production starts: scripts/bundle.js builds it as dist/bundle/main.js beside the bundled driver
 * (dist/bundle/driver.js), and the image has them as /app/dist/main.js and /app/dist/driver.js. (`node dist/launch.js`
 * does the same on tsc's output.) It turns on V8's compile cache, then loads the driver. It has to run first because the cache
 * only covers modules loaded after it is enabled, so it cannot live in the bundle it speeds up.
 *
 * The cache lives beside the code, in `.compile-cache/` next to this file, and not under the state directory or a
 * temporary one: the state directory is only known once the flags are parsed inside the driver (too late) and holds
 * the user's durable data, not throwaway files; a temporary directory is new in every container, so a pod restart
 * would always start cold. Beside the code, the image build fills it once (Dockerfile), every start from the image
 * reads it, and Node checks each entry against the file's hash and its own version. If the directory cannot be
 * written, Node skips the cache and the driver starts as it would without it.
 */
import * as nodeModule from 'node:module';
import path from 'node:path';

type EnableCompileCache = (dir: string) => unknown;
// Node >= 22.1; the engines field allows 20, where start-up simply runs without the cache.
const enable = (nodeModule as { enableCompileCache?: EnableCompileCache }).enableCompileCache;
if (enable !== undefined && process.env.NODE_DISABLE_COMPILE_CACHE === undefined) enable(path.join(__dirname, '.compile-cache'));

require('./main');
