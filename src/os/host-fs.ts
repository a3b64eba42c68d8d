/**
 * The host filesystem as the domain uses it (volumes, snapshots, node, the kinds): only the calls it really makes.
 * Paths are absolute; failures reject with the host's error (an Error with the errno `code`, e.g. ENOENT, ENOTEMPTY),
 * so callers that tell "gone" from "failed" keep doing so. The state store (src/state) and start-up code keep
 * using node:fs directly; everything else goes through this interface, and unit tests may plug in a fake
 * (test/helpers/memory-fs.ts).
 */
import { chmod, chown, lstat, mkdir, open, readdir, realpath, rm, rmdir, stat, unlink } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { walkUsage } from './tree-usage';

export type EntryType = 'file' | 'directory' | 'symlink' | 'other';

/** What the domain reads of an inode. */
export interface FileInfo {
  readonly type: EntryType;
  /** Length in bytes (a sparse file's apparent size). */
  readonly size: bigint;
  /** Bytes of blocks really allocated (st_blocks × 512): what a sparse image holds. */
  readonly allocatedBytes: bigint;
  /** Permission bits and the file type bits, as st_mode. */
  readonly mode: number;
  readonly uid: number;
}

export interface HostFs {
  /** Follows symlinks. */
  stat(p: string): Promise<FileInfo>;
  /** Does not follow a final symlink (it is reported as 'symlink'). */
  lstat(p: string): Promise<FileInfo>;
  /** Resolves every symlink in `p`: the path confinement check (src/node/confine.ts) compares what this returns. */
  realpath(p: string): Promise<string>;
  /** Entry names, unsorted. */
  readdir(p: string): Promise<string[]>;
  /** `mkdir -p`; `mode` applies to the directories it creates (default 0777, less the umask). */
  mkdirs(p: string, mode?: number): Promise<void>;
  chmod(p: string, mode: number): Promise<void>;
  /** chown(2), following symlinks; null leaves that ID unchanged. */
  chown(p: string, uid: number | null, gid: number | null): Promise<void>;
  /** `rm -rf`: removes a tree or file; nothing there is not an error. */
  removeTree(p: string): Promise<void>;
  /** rmdir(2): only an empty directory (ENOTEMPTY otherwise). */
  removeEmptyDir(p: string): Promise<void>;
  /** unlink(2): one non-directory. */
  unlink(p: string): Promise<void>;
  /** Creates an empty file if nothing is there (an existing file is left as it is): a bind-mount point. */
  ensureFile(p: string, mode: number): Promise<void>;
  /**
   * Extends a file (created with `mode` if missing) to at least `size` bytes, never shrinking it, then fsyncs it:
   * a sparse image grows without allocating.
   */
  growFile(p: string, size: bigint, mode: number): Promise<void>;
  /**
   * Allocated bytes and inodes under a directory (a dir volume's usage): hard links counted once, other mounts not
   * entered (src/os/tree-usage.ts).
   */
  treeUsage(root: string): Promise<{ bytes: bigint; inodes: bigint }>;
}

function infoOf(s: BigIntStats): FileInfo {
  const type: EntryType = s.isFile() ? 'file' : s.isDirectory() ? 'directory' : s.isSymbolicLink() ? 'symlink' : 'other';
  return { type, size: s.size, allocatedBytes: s.blocks * 512n, mode: Number(s.mode), uid: Number(s.uid) };
}

/** The real host filesystem (node:fs/promises). */
export const systemHostFs: HostFs = {
  stat: async (p) => infoOf(await stat(p, { bigint: true })),
  lstat: async (p) => infoOf(await lstat(p, { bigint: true })),
  realpath: (p) => realpath(p),
  readdir: (p) => readdir(p),
  mkdirs: async (p, mode) => {
    await mkdir(p, mode === undefined ? { recursive: true } : { recursive: true, mode });
  },
  chmod: (p, mode) => chmod(p, mode),
  // -1 is chown(2)'s "leave unchanged".
  chown: (p, uid, gid) => chown(p, uid ?? -1, gid ?? -1),
  removeTree: (p) => rm(p, { recursive: true, force: true }),
  removeEmptyDir: (p) => rmdir(p),
  unlink: (p) => unlink(p),
  ensureFile: async (p, mode) => {
    await (await open(p, 'a', mode)).close();
  },
  growFile: async (p, size, mode) => {
    const handle = await open(p, 'a', mode);
    try {
      const current = (await handle.stat({ bigint: true })).size;
      if (current < size) await handle.truncate(Number(size));
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  treeUsage: (root) => walkUsage(root),
};
