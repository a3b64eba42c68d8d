import type { TreeCopier } from '../../os/copy';
import type { StatFs } from '../../os/fs-stats';
import type { HostFs } from '../../os/host-fs';
import type { VolumeBackend, VolumeCondition, VolumeUsage } from '../../volumes/backend';
import type { StateLayout } from '../../volumes/layout';
import type { VolumeRecord } from '../../volumes/model';
import { dirUsage } from '../../volumes/usage';
import { confineDataDir } from '../../volumes/placement';
import { applyRootOwnership } from '../root-ownership';

/**
 * A volume is a plain directory. Nothing enforces its size: capacity is what was asked for, usage is what a walk of
 * the directory finds, and the host filesystem's free space is the real limit.
 */
export class DirBackend implements VolumeBackend {
  readonly kind = 'dir' as const;
  readonly growsOnNode = false;

  constructor(
    private readonly layout: StateLayout,
    private readonly fs: HostFs,
    private readonly statFs: StatFs,
    private readonly copier: TreeCopier,
    private readonly volumeRoots: ReadonlyMap<string, string> = new Map(),
  ) {}

  stageSource(volume: VolumeRecord): string {
    return this.layout.dataDirOf(volume);
  }

  unsupportedReason(): null {
    return null;
  }

  prepare(volume: VolumeRecord): VolumeRecord {
    return volume;
  }

  /** Nothing is reserved: a plain directory promises nothing the host filesystem keeps for it. */
  async unusedReservation(): Promise<bigint> {
    return 0n;
  }

  async create(volume: VolumeRecord): Promise<void> {
    const dir = this.layout.dataDirOf(volume);
    await this.fs.mkdirs(dir);
    // By default 0777: pods run as arbitrary users; with fsGroupPolicy File, kubelet narrows ownership itself. The
    // state directory above is 0700, so host users cannot reach this directory except through a mount.
    await applyRootOwnership(this.fs, dir, volume);
  }

  async remove(volume: VolumeRecord): Promise<void> {
    await confineDataDir({ config: { volumeRoots: this.volumeRoots }, fs: this.fs }, volume);
    await this.fs.removeTree(this.layout.dataDirOf(volume));
  }

  async snapshotTo(volume: VolumeRecord, destDir: string): Promise<void> {
    await this.copier.copyContents(this.layout.dataDirOf(volume), destDir);
  }

  async populateFrom(volume: VolumeRecord, sourceDir: string): Promise<void> {
    await this.copier.copyContents(sourceDir, this.layout.dataDirOf(volume));
  }

  async expand(): Promise<void> {
    // Nothing to grow: a directory has no size of its own. The new capacity is recorded by the caller.
  }

  async condition(volume: VolumeRecord): Promise<VolumeCondition> {
    try {
      const s = await this.fs.stat(this.layout.dataDirOf(volume));
      if (s.type === 'directory') return { abnormal: false, message: 'volume directory present' };
      return { abnormal: true, message: 'volume path exists but is not a directory' };
    } catch {
      return { abnormal: true, message: volume.dataDir ? `volume directory ${volume.dataDir} is missing` : 'volume directory is missing from the state directory' };
    }
  }

  async usage(volume: VolumeRecord): Promise<VolumeUsage> {
    return dirUsage(this.fs, this.layout.dataDirOf(volume), BigInt(volume.capacityBytes), this.statFs);
  }
}
