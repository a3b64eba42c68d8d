import path from 'node:path';
import { InternalError } from '../../errors';
import type { NodeStateForController } from '../../contract';
import type { TreeCopier } from '../../os/copy';
import type { Filesystems } from '../../os/filesystem';
import type { HostFs } from '../../os/host-fs';
import type { StatFs } from '../../os/fs-stats';
import type { VolumeBackend, VolumeCondition, VolumeUsage } from '../../volumes/backend';
import { SparseImageBackend } from '../sparse-image';
import type { StateLayout } from '../../volumes/layout';
import type { ImageFsType, VolumeRecord } from '../../volumes/model';

/**
 * A filesystem volume kept in a sparse image of exactly its capacity (volumes/<id>/disk.img) holding a filesystem
 * of its own (ext4 or xfs), made at CreateVolume. The node attaches it to a loop device and mounts it at the
 * staging path (src/kinds/image/node.ts). A write past the end of the filesystem fails with ENOSPC inside the volume and
 * touches nothing else; it works on any host filesystem. Expansion grows the image here and the filesystem on the
 * node (growsOnNode).
 */
export class ImageBackend extends SparseImageBackend implements VolumeBackend {
  readonly kind = 'image' as const;
  readonly growsOnNode = true;

  constructor(
    layout: StateLayout,
    fs: HostFs,
    nodeState: NodeStateForController,
    copier: TreeCopier,
    private readonly filesystems: Pick<Filesystems, 'make'>,
    private readonly statFs: StatFs,
  ) {
    super(layout, fs, nodeState, copier);
  }

  async create(volume: VolumeRecord): Promise<void> {
    await makeImageFile(this.fs, this.filesystems, this.imageOf(volume), BigInt(volume.capacityBytes), fsTypeOf(volume));
  }

  /**
   * Copies the image. While the volume is mounted its filesystem is frozen for the copy (fsfreeze flushes it and
   * holds writers), so the copy is a consistent filesystem rather than a torn one; with reflink the freeze lasts
   * milliseconds, with a full copy as long as the copy.
   */
  async snapshotTo(volume: VolumeRecord, destDir: string): Promise<void> {
    const mountPoint = await this.mountedAt(volume);
    if (mountPoint === null) return this.copier.copyContents(this.layout.volumeDataDir(volume.id), destDir);
    await this.freeze(mountPoint);
    try {
      await this.copier.copyContents(this.layout.volumeDataDir(volume.id), destDir);
    } finally {
      await this.nodeState.thaw(mountPoint);
    }
  }

  async afterInterruptedSnapshot(volume: VolumeRecord): Promise<void> {
    const mountPoint = await this.mountedAt(volume);
    // Not frozen (the crash came before the freeze or after the thaw) is the usual case: fsfreeze then says so.
    if (mountPoint !== null) await this.nodeState.thaw(mountPoint).catch(() => undefined);
  }

  /**
   * fsfreeze refuses (EBUSY) a filesystem that is already frozen, which is what a crash between freeze and thaw
   * leaves. Only this driver freezes its volumes' filesystems, so a frozen one is ours from before the crash: thaw
   * it and freeze again. If it was not frozen, the thaw fails and the first error is the one that matters.
   */
  private async freeze(mountPoint: string): Promise<void> {
    try {
      await this.nodeState.freeze(mountPoint);
    } catch (err) {
      await this.nodeState.thaw(mountPoint).catch(() => {
        throw err;
      });
      await this.nodeState.freeze(mountPoint);
    }
  }

  async condition(volume: VolumeRecord): Promise<VolumeCondition> {
    const s = await this.fs.lstat(this.imageOf(volume)).catch(() => null);
    if (!s) return { abnormal: true, message: 'volume image file is missing from the state directory' };
    if (s.type !== 'file') return { abnormal: true, message: 'volume image path is not a regular file' };
    if (s.size < BigInt(volume.capacityBytes)) return { abnormal: true, message: 'volume image is smaller than the volume capacity' };
    return { abnormal: false, message: `volume image present (${fsTypeOf(volume)})` };
  }

  /**
   * Where the node has it mounted, statfs of the volume's own filesystem: exactly what a writer inside can still use.
   * Elsewhere, the image's allocated blocks against its capacity.
   */
  async usage(volume: VolumeRecord, mountedAt?: string): Promise<VolumeUsage> {
    if (mountedAt !== undefined) return mountedImageUsage(this.statFs, mountedAt);
    return this.allocatedUsage(volume);
  }

  /** The node's mount of the volume's filesystem, if any (read through the contract, src/contract.ts). */
  private mountedAt(volume: VolumeRecord): Promise<string | null> {
    return this.nodeState.mountOfImage(this.imageOf(volume));
  }
}

/**
 * An image file of exactly `sizeBytes` (sparse) in its own directory, with an empty filesystem of `fsType` filling
 * it: a persistent image volume's at CreateVolume, an inline one's at its first NodePublishVolume.
 */
export async function makeImageFile(fs: HostFs, filesystems: Pick<Filesystems, 'make'>, image: string, sizeBytes: bigint, fsType: ImageFsType): Promise<void> {
  await fs.mkdirs(path.dirname(image), 0o700);
  await fs.growFile(image, sizeBytes, 0o600);
  await filesystems.make(image, fsType);
}

/** statfs of an image's own mounted filesystem: what a writer inside can still use (bytes and inodes). */
export async function mountedImageUsage(statFs: StatFs, mountPoint: string): Promise<VolumeUsage> {
  const fs = await statFs(mountPoint);
  return {
    totalBytes: fs.totalBytes,
    usedBytes: fs.totalBytes > fs.availableBytes ? fs.totalBytes - fs.availableBytes : 0n,
    availableBytes: fs.availableBytes,
    totalInodes: fs.totalInodes,
    usedInodes: fs.totalInodes - fs.freeInodes,
    availableInodes: fs.freeInodes,
  };
}

export function fsTypeOf(volume: Pick<VolumeRecord, 'id' | 'fsType'>): ImageFsType {
  if (!volume.fsType) throw new InternalError(`image volume ${volume.id} has no filesystem type in its record`);
  return volume.fsType;
}
