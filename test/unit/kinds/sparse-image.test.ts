/**
 * The sparse image that block and image volumes share (src/kinds/sparse-image.ts), on the in-memory host
 * filesystem: exact files, sizes and modes, no real directory.
 */
import { describe, expect, it } from 'vitest';
import { BlockBackend } from '../../../src/kinds/block/controller';
import type { VolumeRecord } from '../../../src/volumes/model';
import { StateLayout } from '../../../src/volumes/layout';
import { nodeStateOnSharedHost } from '../../../src/contract';
import { FakeCopier, FakeLoopDevices, FakeMounter, MiB } from '../../helpers/fakes';
import { FakeFilesystems } from '../../helpers/size-fakes';
import { MemoryHostFs } from '../../helpers/memory-fs';

const layout = new StateLayout('/state');
const volume = { id: 'vol-1', kind: 'block', phase: 'ready', capacityBytes: String(64n * MiB) } as VolumeRecord;
const image = layout.volumeImageFile('vol-1');

function backend(): { fs: MemoryHostFs; loops: FakeLoopDevices; block: BlockBackend } {
  const fs = new MemoryHostFs();
  fs.addDir('/state/volumes', 0o700);
  const loops = new FakeLoopDevices();
  return { fs, loops, block: new BlockBackend(layout, fs, nodeStateOnSharedHost({ loops, mounter: new FakeMounter(), filesystems: new FakeFilesystems() }), new FakeCopier()) };
}

describe('sparse image volumes', () => {
  it('creates the image at exactly the capacity, 0600 in a 0700 directory, and reports it healthy', async () => {
    const { fs, block } = backend();
    await block.create(volume);
    const [dir, file] = await Promise.all([fs.stat(layout.volumeDataDir('vol-1')), fs.stat(image)]);
    expect([dir.mode & 0o777, file.size, file.mode & 0o777]).toEqual([0o700, 64n * MiB, 0o600]);
    expect(await block.condition(volume)).toEqual({ abnormal: false, message: 'block image present' });
  });

  it('counts a fresh image as wholly unused reservation (nothing allocated yet)', async () => {
    const { block } = backend();
    await block.create(volume);
    expect(await block.unusedReservation(volume)).toBe(64n * MiB);
  });

  it('grows the image and refreshes every loop device backed by it; never shrinks it', async () => {
    const { fs, loops, block } = backend();
    await block.create(volume);
    const dev = await loops.attach(image);
    await block.expand(volume, 128n * MiB);
    await block.expand(volume, 32n * MiB);
    expect((await fs.stat(image)).size).toBe(128n * MiB);
    expect(loops.refreshed).toEqual([dev, dev]);
  });

  it('reports an image smaller than the capacity, and a missing one, as abnormal', async () => {
    const { fs, block } = backend();
    fs.addFile(image, 1n * MiB);
    expect(await block.condition(volume)).toEqual({ abnormal: true, message: 'block image is smaller than the volume capacity' });
    await fs.removeTree(image);
    expect(await block.condition(volume)).toEqual({ abnormal: true, message: 'block image file is missing from the state directory' });
  });

  it('detaches the loop devices backed by the image before removing the volume directory', async () => {
    const { fs, loops, block } = backend();
    await block.create(volume);
    await loops.attach(image);
    await block.remove(volume);
    expect(loops.attached.size).toBe(0);
    expect(await fs.readdir('/state/volumes')).toEqual([]);
  });
});
