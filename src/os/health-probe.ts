import { lstat, readFile } from 'node:fs/promises';
import path from 'node:path';

export interface PathInfo {
  type: 'file' | 'directory' | 'other';
  sizeBytes: bigint;
}

/** What the health checks read from the host besides mounts, loop devices and statfs; faked in unit tests. */
export interface HealthProbe {
  /** What is at `p` (not following a last symlink), or null when nothing is. */
  pathInfo(p: string): Promise<PathInfo | null>;
  /**
   * Errors the kernel has recorded on the ext4 filesystem of `device` (e.g. /dev/loop3), from
   * /sys/fs/ext4/loop3/errors_count (Documentation/ABI/testing/sysfs-fs-ext4); null when the kernel shows no count
   * (not ext4, or not mounted). XFS keeps no such counter: it shuts the filesystem down instead (then every access
   * fails with EIO, which the mount checks see as an unusable mount).
   */
  ext4ErrorCount(device: string): Promise<number | null>;
}

export class SystemHealthProbe implements HealthProbe {
  constructor(private readonly sysfsRoot = '/sys/fs/ext4') {}

  async pathInfo(p: string): Promise<PathInfo | null> {
    const s = await lstat(p, { bigint: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
      throw err;
    });
    if (!s) return null;
    return { type: s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other', sizeBytes: s.size };
  }

  async ext4ErrorCount(device: string): Promise<number | null> {
    const text = await readFile(path.join(this.sysfsRoot, path.basename(device), 'errors_count'), 'utf8').catch(() => null);
    if (text === null) return null;
    const n = Number(text.trim());
    return Number.isSafeInteger(n) ? n : null;
  }
}
