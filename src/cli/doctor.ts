import type { CommandRunner } from '../os/exec';
import type { FsStats } from '../os/fs-stats';
import { CAP_SYS_ADMIN } from '../os/host-probe';
import type { MountEntry } from '../os/mount';
import { quotaSupportOf } from '../os/project-quota';

export type Verdict = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  verdict: Verdict;
  detail: string;
}

export interface KindVerdict {
  kind: string;
  works: boolean;
  why: string;
}

/** What the doctor looks at, gathered by the caller through src/os (tests pass their own). */
export interface HostFacts {
  stateDir: string;
  /** lstat of the state directory, or null if it does not exist. */
  stateDirInfo: { isDirectory: boolean; mode: number } | null;
  /** The mount holding the state directory, or undefined if it does not exist yet. */
  mount: MountEntry | undefined;
  fs: FsStats | null;
  capabilities: bigint | null;
  kernelFilesystems: Set<string>;
  loopControl: boolean;
  tools: Record<string, string | null>;
  run: CommandRunner;
}

export const TOOLS = ['losetup', 'mount', 'umount', 'cp', 'mkfs.ext4', 'e2fsck', 'resize2fs', 'dumpe2fs', 'mkfs.xfs', 'xfs_growfs', 'xfs_quota', 'xfs_info', 'fsfreeze', 'setpriv'] as const;

const GiB = 1024n ** 3n;

/** Reflink is what makes snapshots and clones near-instant: btrfs always, XFS when made with reflink=1. */
async function reflinkCheck(f: HostFacts): Promise<Check> {
  const fsType = f.mount?.fsType ?? 'unknown';
  if (fsType === 'btrfs') return { name: 'reflink', verdict: 'ok', detail: 'btrfs: snapshots and clones are copy-on-write' };
  if (fsType !== 'xfs') return { name: 'reflink', verdict: 'warn', detail: `${fsType} has no reflink: snapshots and clones are full copies` };
  const xfsInfo = f.tools['xfs_info'];
  if (!xfsInfo) return { name: 'reflink', verdict: 'warn', detail: 'xfs, but xfs_info is missing: reflink unknown' };
  const out = await f.run(xfsInfo, [f.mount!.mountPoint], { timeoutMs: 10_000 }).catch(() => '');
  if (/reflink=1/.test(out)) return { name: 'reflink', verdict: 'ok', detail: 'xfs with reflink=1: snapshots and clones are copy-on-write' };
  return { name: 'reflink', verdict: 'warn', detail: 'xfs without reflink (mkfs.xfs -m reflink=1): snapshots and clones are full copies' };
}

function spaceCheck(f: HostFacts): Check {
  if (!f.fs) return { name: 'free space', verdict: 'fail', detail: `cannot statfs ${f.stateDir}` };
  const { availableBytes: avail, totalBytes: total, freeInodes, totalInodes } = f.fs;
  const pct = total > 0n ? Number((avail * 1000n) / total) / 10 : 0;
  const detail = `${formatBytes(avail)} of ${formatBytes(total)} available (${pct}%), ${freeInodes} of ${totalInodes} inodes free`;
  const low = avail < GiB || (total > 0n && avail * 10n < total) || (totalInodes > 0n && freeInodes * 20n < totalInodes);
  return { name: 'free space', verdict: low ? 'warn' : 'ok', detail };
}

function stateDirCheck(f: HostFacts): Check {
  const st = f.stateDirInfo;
  if (!st) return { name: 'state directory', verdict: 'warn', detail: `${f.stateDir} does not exist yet (the driver creates it)` };
  if (!st.isDirectory) return { name: 'state directory', verdict: 'fail', detail: `${f.stateDir} is not a directory` };
  const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
  return { name: 'state directory', verdict: mode === '0700' ? 'ok' : 'warn', detail: `${f.stateDir}, mode ${mode}${mode === '0700' ? '' : ' (the driver makes it 0700 at start)'}` };
}

function hasCap(f: HostFacts, cap: number): boolean | null {
  return f.capabilities === null ? null : (f.capabilities & (1n << BigInt(cap))) !== 0n;
}

function missing(f: HostFacts, tools: readonly string[]): string[] {
  return tools.filter((t) => !f.tools[t]);
}

/** Which StorageClass kinds this node can serve, and what stops the others. */
export function kindVerdicts(f: HostFacts): KindVerdict[] {
  const sysAdmin = hasCap(f, CAP_SYS_ADMIN);
  const mountable = sysAdmin === false ? 'no CAP_SYS_ADMIN: cannot mount or attach loop devices' : null;
  const loop = !f.loopControl ? '/dev/loop-control is missing (no loop device support, or /dev not mounted)' : null;
  const reasons = (...rs: (string | null)[]): string[] => rs.filter((r): r is string => r !== null);
  const tools = (names: readonly string[]): string | null => (missing(f, names).length > 0 ? `missing ${missing(f, names).join(', ')}` : null);
  const fsKernel = (t: string): string | null => (f.kernelFilesystems.has(t) ? null : `the kernel lists no ${t} in /proc/filesystems`);
  const quota = quotaSupportOf(f.mount);
  const verdict = (kind: string, rs: string[], okWhy: string): KindVerdict => ({ kind, works: rs.length === 0, why: rs.length === 0 ? okWhy : rs.join('; ') });
  return [
    verdict('dir (sizeLimit none)', reasons(f.fs ? null : 'the state directory cannot be read', mountable), 'plain directories: sizes recorded, not enforced'),
    verdict('quota (sizeLimit quota)', reasons(mountable, quota.supported ? null : quota.reason, tools(['xfs_quota'])), 'project quotas enforce each volume\'s size'),
    verdict('image ext4 (sizeLimit image)', reasons(mountable, loop, fsKernel('ext4'), tools(['losetup', 'mkfs.ext4', 'e2fsck', 'resize2fs'])), 'a loop-mounted ext4 image per volume'),
    verdict('image xfs (sizeLimit image, fsType xfs)', reasons(mountable, loop, fsKernel('xfs'), tools(['losetup', 'mkfs.xfs', 'xfs_growfs'])), 'a loop-mounted XFS image per volume'),
    verdict('block (raw block volumes)', reasons(mountable, loop, tools(['losetup'])), 'a sparse image on a loop device'),
  ];
}

export async function runDoctor(f: HostFacts): Promise<{ checks: Check[]; kinds: KindVerdict[] }> {
  const fsDetail = f.mount ? `${f.mount.fsType} (${f.mount.source} at ${f.mount.mountPoint}; options ${f.mount.superOptions.join(',') || 'none'})` : 'unknown: the mount holding the state directory was not found';
  const sysAdmin = hasCap(f, CAP_SYS_ADMIN);
  const absent = missing(f, TOOLS);
  const checks: Check[] = [
    stateDirCheck(f),
    { name: 'filesystem', verdict: f.mount ? 'ok' : 'warn', detail: fsDetail },
    spaceCheck(f),
    await reflinkCheck(f),
    { name: 'project quotas', verdict: quotaSupportOf(f.mount).supported ? 'ok' : 'warn', detail: quotaDetail(f.mount) },
    { name: 'capabilities', verdict: sysAdmin === false ? 'fail' : sysAdmin === null ? 'warn' : 'ok', detail: sysAdmin === null ? 'CapEff unreadable' : sysAdmin ? 'CAP_SYS_ADMIN (mounts, loop devices)' : 'no CAP_SYS_ADMIN: run privileged' },
    { name: 'loop devices', verdict: f.loopControl ? 'ok' : 'warn', detail: f.loopControl ? '/dev/loop-control present' : '/dev/loop-control missing' },
    { name: 'kernel filesystems', verdict: f.kernelFilesystems.has('ext4') && f.kernelFilesystems.has('xfs') ? 'ok' : 'warn', detail: ['ext4', 'xfs', 'btrfs'].map((t) => `${t} ${f.kernelFilesystems.has(t) ? 'yes' : 'no'}`).join(', ') },
    { name: 'tools', verdict: absent.length === 0 ? 'ok' : 'warn', detail: absent.length === 0 ? `all of ${TOOLS.join(', ')}` : `missing ${absent.join(', ')}` },
  ];
  return { checks, kinds: kindVerdicts(f) };
}

function quotaDetail(mount: MountEntry | undefined): string {
  const q = quotaSupportOf(mount);
  return q.supported ? `${q.fsType} at ${q.mountPoint} enforces project quotas` : q.reason;
}

export function formatBytes(n: bigint): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = Number(n);
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}
