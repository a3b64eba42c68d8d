import { existsSync } from 'node:fs';
import path from 'node:path';

let cached: string | null = null;

/**
 * The installed package's directory (the one holding package.json and proto/). Found by walking up from this file
 * because the code runs from two depths: tsc's dist/ (tests, dist/config.js) and the bundle in dist/bundle/ that
 * production starts; a fixed `../..` would be right for only one of them. Start-up only (synchronous).
 */
export function packageRoot(): string {
  if (cached !== null) return cached;
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  cached = dir;
  return dir;
}
