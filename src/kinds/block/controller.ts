import type { VolumeBackend, VolumeCondition, VolumeUsage } from '../../volumes/backend';
import type { VolumeRecord } from '../../volumes/model';
import { SparseImageBackend } from '../sparse-image';

/**
 * A raw block volume: a sparse file of exactly the volume's capacity, attached to a loop device on the node
 * (src/kinds/sparse-image.ts holds what it shares with image volumes).
 */
export class BlockBackend extends SparseImageBackend implements VolumeBackend {
  readonly kind = 'block' as const;
  readonly growsOnNode = false;

  async create(volume: VolumeRecord): Promise<void> {
    await this.createImage(volume);
  }

  async snapshotTo(volume: VolumeRecord, destDir: string): Promise<void> {
    await this.copier.copyContents(this.layout.volumeDataDir(volume.id), destDir);
  }

  async condition(volume: VolumeRecord): Promise<VolumeCondition> {
    const s = await this.fs.lstat(this.imageOf(volume)).catch(() => null);
    if (!s) return { abnormal: true, message: 'block image file is missing from the state directory' };
    if (s.type !== 'file') return { abnormal: true, message: 'block image path is not a regular file' };
    if (s.size < BigInt(volume.capacityBytes)) return { abnormal: true, message: 'block image is smaller than the volume capacity' };
    return { abnormal: false, message: 'block image present' };
  }

  async usage(volume: VolumeRecord): Promise<VolumeUsage> {
    return this.allocatedUsage(volume);
  }
}
