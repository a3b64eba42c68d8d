import type { NodeStateForController } from '../contract';
import type { TreeCopier } from '../os/copy';
import type { HostFs } from '../os/host-fs';
import type { VolumeUsage } from '../volumes/backend';
import type { StateLayout } from '../volumes/layout';
import type { VolumeRecord } from '../volumes/model';

/**
 * What raw block volumes and image volumes share: a sparse file of exactly the volume's capacity
 * (volumes/<id>/disk.img) that the node attaches to a loop device. Snapshots and clones copy the directory, so the
 * image stays sparse (and shares extents where the filesystem has reflink).
 */
export abstract class SparseImageBackend {
  constructor(
    protected readonly layout: StateLayout,
    protected readonly fs: HostFs,
    /** The node's loop devices backed by an image, as the contract lets the controller touch them (src/contract.ts). */
    protected readonly nodeState: NodeStateForController,
    protected readonly copier: TreeCopier,
  ) {}

  imageOf(volume: VolumeRecord): string {
    return this.layout.volumeImageFile(volume.id);
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
    return imageReservation(this.fs, this.imageOf(volume), BigInt(volume.capacityBytes));
  }

  async remove(volume: VolumeRecord): Promise<void> {
    // A loop device keeps a deleted file alive and is not namespaced: detach before removing, or it leaks.
    await this.nodeState.detachLoopsOf(this.imageOf(volume));
    await this.fs.removeTree(this.layout.volumeDataDir(volume.id));
  }

  /** Grows the image and the loop devices' view of it (what is inside grows on the node, if anything). */
  async expand(volume: VolumeRecord, capacityBytes: bigint): Promise<void> {
    await this.growImage(volume, capacityBytes);
    await this.nodeState.refreshLoopsOf(this.imageOf(volume));
  }

  /** The copied image keeps the source's content and size, then grows to this volume's capacity. */
  async populateFrom(volume: VolumeRecord, sourceDir: string): Promise<void> {
    await this.fs.removeTree(this.imageOf(volume));
    await this.copier.copyContents(sourceDir, this.layout.volumeDataDir(volume.id));
    await this.growImage(volume, BigInt(volume.capacityBytes));
  }

  /** The image's allocated blocks against the volume's capacity (no inodes: the host sees one file). */
  protected async allocatedUsage(volume: VolumeRecord): Promise<VolumeUsage> {
    const s = await this.fs.stat(this.imageOf(volume));
    const capacity = BigInt(volume.capacityBytes);
    const used = s.allocatedBytes < capacity ? s.allocatedBytes : capacity;
    return { totalBytes: capacity, usedBytes: used, availableBytes: capacity - used, totalInodes: null, usedInodes: null, availableInodes: null };
  }

  /** The volume's directory with an empty image of its capacity. */
  protected async createImage(volume: VolumeRecord): Promise<void> {
    await this.fs.mkdirs(this.layout.volumeDataDir(volume.id), 0o700);
    await this.growImage(volume, BigInt(volume.capacityBytes));
  }

  /** Sets the image's length to at least `size`; never shrinks it (that would cut off data). */
  protected async growImage(volume: VolumeRecord, size: bigint): Promise<void> {
    await this.fs.growFile(this.imageOf(volume), size, 0o600);
  }
}

/** Capacity not yet backed by allocated blocks of a sparse image (0 when the image is gone or fully allocated). */
export async function imageReservation(fs: HostFs, image: string, capacity: bigint): Promise<bigint> {
  const s = await fs.stat(image).catch(() => null);
  const allocated = s ? s.allocatedBytes : 0n;
  return allocated < capacity ? capacity - allocated : 0n;
}
