import { lstat, mkdir, open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { TreeCopier } from '../os/copy';
import type { LoopDevices } from '../os/loop';
import type { VolumeBackend, VolumeCondition, VolumeUsage } from './backend';
import type { StateLayout } from './layout';
import type { VolumeRecord } from './model';

export const BLOCK_IMAGE = 'disk.img';

/**
 * A raw block volume: a sparse file of exactly the volume's capacity (volumes/<id>/disk.img), attached to a loop
 * device on the node. Snapshots and clones copy the directory, so the image stays sparse (and shares extents where
 * the filesystem has reflink).
 */
export class BlockBackend implements VolumeBackend {
  readonly kind = 'block' as const;
  readonly growsOnNode = false;

  constructor(
    private readonly layout: StateLayout,
    private readonly loops: LoopDevices,
    private readonly copier: TreeCopier,
  ) {}

  imageOf(volume: VolumeRecord): string {
    return path.join(this.layout.volumeDataDir(volume.id), BLOCK_IMAGE);
  }

  stageSource(volume: VolumeRecord): string {
    return this.imageOf(volume);
  }

  unsupportedReason(): null {
    return null;
  }

  prepare(volume: VolumeRecord): VolumeRecord {
    return volume;
  }

  /** A sparse image can fill up to its length: what is not allocated yet is still promised. */
  async unusedReservation(volume: VolumeRecord): Promise<bigint> {
    return imageReservation(this.imageOf(volume), BigInt(volume.capacityBytes));
  }

  async create(volume: VolumeRecord): Promise<void> {
    await mkdir(this.layout.volumeDataDir(volume.id), { recursive: true, mode: 0o700 });
    await this.growImage(volume, BigInt(volume.capacityBytes));
  }

  /** Sets the image's length to at least `size`; never shrinks it (that would cut off data). */
  private async growImage(volume: VolumeRecord, size: bigint): Promise<void> {
    const handle = await open(this.imageOf(volume), 'a', 0o600);
    try {
      const current = BigInt((await handle.stat({ bigint: true })).size);
      if (current < size) await handle.truncate(Number(size));
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async remove(volume: VolumeRecord): Promise<void> {
    // A loop device keeps a deleted file alive and is not namespaced: detach before removing, or it leaks.
    for (const dev of await this.loops.backing(this.imageOf(volume))) await this.loops.detach(dev);
    await rm(this.layout.volumeDataDir(volume.id), { recursive: true, force: true });
  }

  async expand(volume: VolumeRecord, capacityBytes: bigint): Promise<void> {
    await this.growImage(volume, capacityBytes);
    for (const dev of await this.loops.backing(this.imageOf(volume))) await this.loops.refreshSize(dev);
  }

  async snapshotTo(volume: VolumeRecord, destDir: string): Promise<void> {
    await this.copier.copyContents(this.layout.volumeDataDir(volume.id), destDir);
  }

  async populateFrom(volume: VolumeRecord, sourceDir: string): Promise<void> {
    await rm(this.imageOf(volume), { force: true });
    await this.copier.copyContents(sourceDir, this.layout.volumeDataDir(volume.id));
    await this.growImage(volume, BigInt(volume.capacityBytes));
  }

  async condition(volume: VolumeRecord): Promise<VolumeCondition> {
    const s = await lstat(this.imageOf(volume)).catch(() => null);
    if (!s) return { abnormal: true, message: 'block image file is missing from the state directory' };
    if (!s.isFile()) return { abnormal: true, message: 'block image path is not a regular file' };
    if (BigInt(s.size) < BigInt(volume.capacityBytes)) return { abnormal: true, message: 'block image is smaller than the volume capacity' };
    return { abnormal: false, message: 'block image present' };
  }

  async usage(volume: VolumeRecord): Promise<VolumeUsage> {
    const s = await stat(this.imageOf(volume), { bigint: true });
    const capacity = BigInt(volume.capacityBytes);
    const used = s.blocks * 512n < capacity ? s.blocks * 512n : capacity;
    return { totalBytes: capacity, usedBytes: used, availableBytes: capacity - used, totalInodes: null, usedInodes: null, availableInodes: null };
  }
}

/** Capacity not yet backed by allocated blocks of a sparse image (0 when the image is gone or fully allocated). */
export async function imageReservation(image: string, capacity: bigint): Promise<bigint> {
  const s = await stat(image, { bigint: true }).catch(() => null);
  const allocated = s ? s.blocks * 512n : 0n;
  return allocated < capacity ? capacity - allocated : 0n;
}
