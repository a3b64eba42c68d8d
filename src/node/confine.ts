import path from 'node:path';
import { InvalidArgumentError } from '../errors';
import type { HostFs } from '../os/host-fs';
import { isStrictlyUnder } from '../validate/fields';

/**
 * The lexical check (src/validate/fields.ts) keeps `..` out; this one keeps symlinks out. A target or staging path
 * whose existing part resolves outside the allowed root (a symlink planted under kubelet's directory) is refused
 * before the driver creates, mounts or removes anything there. The path's missing tail is created by the driver
 * itself, inside the directory checked here.
 */
export async function confineToAllowedRoot(fs: HostFs, field: string, p: string, allowedRoot: string): Promise<void> {
  const deepest = await deepestExisting(fs, p, allowedRoot);
  if (deepest === null) return;
  const realRoot = await fs.realpath(allowedRoot).catch(() => allowedRoot);
  const resolved = await fs.realpath(deepest).catch(() => null);
  // A dangling symlink cannot be resolved: it points somewhere unknown, so it is refused like an escape.
  if (resolved === null || !isStrictlyUnder(resolved, realRoot)) {
    throw new InvalidArgumentError(`${field} ${p} resolves outside the allowed root ${allowedRoot} (a symlink?)`);
  }
}

/** The longest prefix of `p` below `root` that exists (as a name: a symlink counts), or null if none does. */
async function deepestExisting(fs: HostFs, p: string, root: string): Promise<string | null> {
  let current = root;
  let deepest: string | null = null;
  for (const part of path.relative(root, p).split('/')) {
    current = path.join(current, part);
    if (!(await fs.lstat(current).then(() => true, () => false))) break;
    deepest = current;
  }
  return deepest;
}
