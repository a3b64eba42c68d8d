import type { CommandRunner } from './exec';
import type { MountEntry } from './mount';

/** Whether the filesystem holding a directory enforces project quotas, and where it is mounted. */
export type QuotaSupport =
  | { supported: true; mountPoint: string; fsType: string }
  | { supported: false; reason: string };

/**
 * Project quotas through xfs_quota(8) (xfsprogs). `-f` (foreign mode) lets the same commands drive ext4, whose
 * project quotas the kernel exposes through the same quotactl and FS_IOC_FSSETXATTR calls; on XFS it changes
 * nothing. Faked in unit tests.
 */
export interface ProjectQuotas {
  /** Marks `dir` and everything under it as project `projectId`, with inheritance, so new files count too. */
  assign(mountPoint: string, dir: string, projectId: number): Promise<void>;
  /** Sets the project's hard block limit; 0 removes the limit. */
  setLimit(mountPoint: string, projectId: number, bytes: bigint): Promise<void>;
}

export class XfsQuotaTool implements ProjectQuotas {
  constructor(private readonly run: CommandRunner) {}

  async assign(mountPoint: string, dir: string, projectId: number): Promise<void> {
    await this.xfsQuota(mountPoint, `project -s -p ${quoteArg(dir)} ${projectId}`);
  }

  async setLimit(mountPoint: string, projectId: number, bytes: bigint): Promise<void> {
    // In KiB with an explicit unit, rounded up: the limit is never below the capacity the CO was promised.
    const kib = (bytes + 1023n) / 1024n;
    await this.xfsQuota(mountPoint, `limit -p bhard=${kib}k bsoft=0 ${projectId}`);
  }

  private async xfsQuota(mountPoint: string, command: string): Promise<void> {
    await this.run('xfs_quota', ['-f', '-x', '-c', command, mountPoint], { timeoutMs: 10 * 60 * 1000 });
  }
}

/**
 * xfs_quota splits its -c argument on white space (with quotes for arguments that hold some). The directories passed
 * here are built from validated IDs under the state directory; anything that would need more than plain quoting is
 * refused rather than guessed at.
 */
function quoteArg(s: string): string {
  if (/["\\\n]/.test(s)) throw new Error(`path ${JSON.stringify(s)} cannot be passed to xfs_quota`);
  return /\s/.test(s) ? `"${s}"` : s;
}

/** The mount holding `dir`: the one on its device whose mount point is the longest prefix of it. */
export function mountHolding(mounts: readonly MountEntry[], dir: string, device: string): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    if (m.device !== device) continue;
    const inside = m.mountPoint === '/' || dir === m.mountPoint || dir.startsWith(`${m.mountPoint}/`);
    if (inside && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/**
 * Project quotas are enforced where the filesystem is XFS or ext4 mounted with prjquota (XFS also says pquota; with
 * pqnoenforce it only accounts). The kernel shows the option among the filesystem's own options.
 */
export function quotaSupportOf(mount: MountEntry | undefined): QuotaSupport {
  if (!mount) return { supported: false, reason: 'the mount holding the state directory was not found' };
  const at = `the state directory's filesystem (${mount.fsType} at ${mount.mountPoint})`;
  if (mount.fsType !== 'xfs' && mount.fsType !== 'ext4') return { supported: false, reason: `${at} has no project quotas: it must be XFS or ext4` };
  const opts = new Set(mount.superOptions);
  if (opts.has('prjquota') || opts.has('pquota')) return { supported: true, mountPoint: mount.mountPoint, fsType: mount.fsType };
  return { supported: false, reason: `${at} is not mounted with prjquota` };
}
