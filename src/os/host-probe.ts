import { constants } from 'node:fs';
import { access, lstat, readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Read-only looks at the host for `hostpath-csi inspect` (src/cli/): nothing here writes, creates or opens a device.
 */

/** Linux capability numbers the driver needs (linux/capability.h). */
export const CAP_SYS_ADMIN = 21;

/** The effective capability set of this process (CapEff in /proc/self/status), or null where it cannot be read. */
export async function effectiveCapabilities(): Promise<bigint | null> {
  const status = await readFile('/proc/self/status', 'utf8').catch(() => null);
  const m = status === null ? null : /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]!}`) : null;
}

/** Filesystem types the running kernel can mount now (/proc/filesystems; modules not yet loaded are not listed). */
export async function kernelFilesystems(): Promise<Set<string>> {
  const text = await readFile('/proc/filesystems', 'utf8').catch(() => '');
  return new Set(text.split('\n').map((l) => l.trim().split(/\s+/).pop() ?? '').filter(Boolean));
}

/** Where `name` is found on PATH (and the sbin directories, which a non-login shell may lack), or null. */
export async function findTool(name: string, envPath = process.env['PATH'] ?? ''): Promise<string | null> {
  const dirs = [...envPath.split(':').filter(Boolean), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    const p = path.join(dir, name);
    if (await access(p, constants.X_OK).then(() => true, () => false)) return p;
  }
  return null;
}

/** True if `p` is a character device (e.g. /dev/loop-control), looked at with lstat only. */
export async function isCharDevice(p: string): Promise<boolean> {
  const st = await lstat(p).catch(() => null);
  return st?.isCharacterDevice() === true;
}

/** Bytes a file has allocated on disk (a sparse image's real use), or null if it is gone. */
export async function allocatedBytes(p: string): Promise<bigint | null> {
  const st = await stat(p, { bigint: true }).catch(() => null);
  return st ? st.blocks * 512n : null;
}

/**
 * Bytes allocated by everything under `dir` (like du), not following symlinks or crossing into mounts; entries that
 * vanish while it walks are skipped (a running driver or pod may delete them). Null if `dir` is gone.
 */
export async function treeAllocatedBytes(dir: string): Promise<bigint | null> {
  const root = await lstat(dir, { bigint: true }).catch(() => null);
  if (!root) return null;
  let total = root.blocks * 512n;
  const pending = root.isDirectory() ? [dir] : [];
  while (pending.length > 0) {
    const d = pending.pop()!;
    for (const name of await readdir(d).catch(() => [] as string[])) {
      const p = path.join(d, name);
      const st = await lstat(p, { bigint: true }).catch(() => null);
      if (!st) continue;
      total += st.blocks * 512n;
      if (st.isDirectory() && st.dev === root.dev) pending.push(p);
    }
  }
  return total;
}

/** Type and permission bits of `p` without following a symlink, or null if it does not exist. */
export async function pathInfo(p: string): Promise<{ isDirectory: boolean; mode: number } | null> {
  const st = await lstat(p).catch(() => null);
  return st && { isDirectory: st.isDirectory(), mode: st.mode & 0o7777 };
}
