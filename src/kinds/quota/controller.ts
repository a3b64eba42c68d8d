import { InternalError, ResourceExhaustedError } from '../../errors';
import type { TreeCopier } from '../../os/copy';
import type { StatFs } from '../../os/fs-stats';
import type { HostFs } from '../../os/host-fs';
import type { ProjectQuotas, QuotaSupport } from '../../os/project-quota';
import type { VolumeBackend, VolumeCondition, VolumeUsage } from '../../volumes/backend';
import type { StateLayout } from '../../volumes/layout';
import type { VolumeRecord } from '../../volumes/model';
import { applyRootOwnership } from '../root-ownership';
import { ProjectIdAllocator } from './project-ids';

/**
 * A directory under a project quota of its own on the state directory's filesystem (XFS or ext4 mounted with
 * prjquota): the kernel refuses writes past the hard limit with EDQUOT, and statfs of the directory reports the
 * project's limit and usage, so NodeGetVolumeStats costs one system call whatever the volume holds.
 */
export class QuotaBackend implements VolumeBackend {
  readonly kind = 'quota' as const;
  readonly growsOnNode = false;
  readonly projectIds = new ProjectIdAllocator();
  private support: QuotaSupport = { supported: false, reason: 'project quota support has not been detected yet' };

  constructor(
    private readonly layout: StateLayout,
    private readonly fs: HostFs,
    private readonly statFs: StatFs,
    private readonly copier: TreeCopier,
    private readonly quotas: ProjectQuotas,
  ) {}

  /** Set once at start-up from what the state directory's mount says (src/os/project-quota.ts). */
  setSupport(support: QuotaSupport): void {
    this.support = support;
  }

  unsupportedReason(): string | null {
    return this.support.supported ? null : `sizeLimit quota is not available on this node: ${this.support.reason}`;
  }

  prepare(volume: VolumeRecord): VolumeRecord {
    return { ...volume, projectId: volume.projectId ?? this.projectIds.take() };
  }

  stageSource(volume: VolumeRecord): string {
    return this.layout.volumeDataDir(volume.id);
  }

  async create(volume: VolumeRecord): Promise<void> {
    const dir = this.layout.volumeDataDir(volume.id);
    await this.fs.mkdirs(dir);
    await applyRootOwnership(this.fs, dir, volume);
    const mountPoint = this.mountPoint();
    // The limit before the project: there is never a moment when the directory counts against no limit.
    await this.quotas.setLimit(mountPoint, projectIdOf(volume), BigInt(volume.capacityBytes));
    await this.quotas.assign(mountPoint, dir, projectIdOf(volume));
  }

  async remove(volume: VolumeRecord): Promise<void> {
    await this.fs.removeTree(this.layout.volumeDataDir(volume.id));
    if (volume.projectId && this.support.supported) await this.quotas.setLimit(this.support.mountPoint, volume.projectId, 0n);
    this.projectIds.release(volume.projectId);
  }

  async expand(volume: VolumeRecord, capacityBytes: bigint): Promise<void> {
    await this.quotas.setLimit(this.mountPoint(), projectIdOf(volume), capacityBytes);
  }

  async snapshotTo(volume: VolumeRecord, destDir: string): Promise<void> {
    await this.copier.copyContents(this.layout.volumeDataDir(volume.id), destDir);
  }

  /** Files copied in are new inodes under a project-inheriting directory, so they count against the limit. */
  async populateFrom(volume: VolumeRecord, sourceDir: string): Promise<void> {
    await this.copier.copyContents(sourceDir, this.layout.volumeDataDir(volume.id));
  }

  async condition(volume: VolumeRecord): Promise<VolumeCondition> {
    const s = await this.fs.stat(this.layout.volumeDataDir(volume.id)).catch(() => null);
    if (!s) return { abnormal: true, message: 'volume directory is missing from the state directory' };
    if (s.type !== 'directory') return { abnormal: true, message: 'volume path exists but is not a directory' };
    if (!this.support.supported) return { abnormal: true, message: `the volume's quota is not enforced: ${this.support.reason}` };
    return { abnormal: false, message: 'volume directory present under its project quota' };
  }

  /**
   * XFS and ext4 answer statfs on a project-inheriting directory with the project's limit and usage. Available is
   * also capped by what the host filesystem really has free (a quota promises, it does not reserve).
   */
  async usage(volume: VolumeRecord, mountedAt?: string): Promise<VolumeUsage> {
    const [project, host] = await Promise.all([this.statFs(mountedAt ?? this.layout.volumeDataDir(volume.id)), this.statFs(this.layout.volumesDir)]);
    const used = project.totalBytes > project.availableBytes ? project.totalBytes - project.availableBytes : 0n;
    return {
      totalBytes: project.totalBytes,
      usedBytes: used,
      availableBytes: project.availableBytes < host.availableBytes ? project.availableBytes : host.availableBytes,
      totalInodes: project.totalInodes,
      usedInodes: project.totalInodes - project.freeInodes,
      availableInodes: project.freeInodes,
    };
  }

  async unusedReservation(volume: VolumeRecord): Promise<bigint> {
    const project = await this.statFs(this.layout.volumeDataDir(volume.id)).catch(() => null);
    const capacity = BigInt(volume.capacityBytes);
    if (!project) return capacity;
    const used = project.totalBytes > project.availableBytes ? project.totalBytes - project.availableBytes : 0n;
    return used < capacity ? capacity - used : 0n;
  }

  private mountPoint(): string {
    if (!this.support.supported) throw new ResourceExhaustedError(this.unsupportedReason()!);
    return this.support.mountPoint;
  }
}

function projectIdOf(volume: VolumeRecord): number {
  if (!volume.projectId) throw new InternalError(`quota volume ${volume.id} has no project ID in its record`);
  return volume.projectId;
}
