import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/** Allocated bytes and inodes under a directory; hard links counted once; does not cross into other mounts. */
export async function walkUsage(root: string): Promise<{ bytes: bigint; inodes: bigint }> {
  const rootStat = await lstat(root, { bigint: true });
  const seen = new Set<string>();
  let bytes = 0n;
  let inodes = 0n;
  const visit = async (p: string): Promise<void> => {
    const s = await lstat(p, { bigint: true }).catch(() => null);
    if (!s || s.dev !== rootStat.dev) return;
    const key = `${s.ino}`;
    if (s.nlink > 1n && seen.has(key)) return;
    if (s.nlink > 1n) seen.add(key);
    bytes += s.blocks * 512n;
    inodes += 1n;
    if (!s.isDirectory()) return;
    const names = await readdir(p).catch(() => [] as string[]);
    for (const name of names) await visit(path.join(p, name));
  };
  await visit(root);
  return { bytes, inodes };
}
