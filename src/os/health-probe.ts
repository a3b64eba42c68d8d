import { lstat, readFile } from 'node:fs/promises';
import { release } from 'node:os';
import path from 'node:path';

/** Whether the kernel can mount a filesystem type; unknown where the host does not let the driver tell. */
export type FilesystemSupport = 'yes' | 'no' | 'unknown';

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
  /**
   * Whether this kernel can mount `fsType` (the doctor's "kernel filesystems" fact): yes when /proc/filesystems
   * lists it or the running kernel's modules.dep has its module (mount loads it on demand); no when both were read
   * and neither has it; unknown when modules.dep cannot be read (a container without /lib/modules).
   */
  filesystemSupport(fsType: string): Promise<FilesystemSupport>;
}

export class SystemHealthProbe implements HealthProbe {
  constructor(
    private readonly sysfsRoot = '/sys/fs/ext4',
    private readonly procFilesystems = '/proc/filesystems',
    private readonly modulesDir = path.join('/lib/modules', release()),
  ) {}

  async filesystemSupport(fsType: string): Promise<FilesystemSupport> {
    const listed = await readFile(this.procFilesystems, 'utf8').catch(() => null);
    if (listed !== null && listed.split('\n').some((l) => l.trim().split(/\s+/).pop() === fsType)) return 'yes';
    const deps = await readFile(path.join(this.modulesDir, 'modules.dep'), 'utf8').catch(() => null);
    if (deps === null || listed === null) return 'unknown';
    return new RegExp(`(^|/)fs/${fsType}/${fsType}\\.ko`, 'm').test(deps) ? 'yes' : 'no';
  }

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
