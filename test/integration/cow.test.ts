import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Snapshot__Output } from '../../src/generated/csi/v1/Snapshot';
import {
  createSnapshot,
  createVolume,
  DataScratch,
  deleteVolume,
  fromSnapshot,
  fsUsedBytes,
  MiB,
  mountFsImage,
  sha256File,
  unmountFsImage,
  writeRandomFile,
  type ImageMount,
} from '../helpers/data';
import { isRoot, NEEDS_ROOT, type DriverProcess } from '../helpers/driver-process';

const scratch = new DataScratch();

afterAll(() => scratch.expectHostLeftClean());

const IMAGE_SIZE = 1024 * MiB;
const FILE_SIZE = 64 * MiB;

/**
 * A driver whose --state-dir is on a freshly made filesystem image, holding one volume with a 64 MiB random file;
 * the space used on that filesystem is measured just before and just after one snapshot.
 */
function snapshotOnImage(fsType: 'xfs' | 'ext4'): {
  driver: () => DriverProcess;
  usedBefore: () => number;
  usedAfter: () => number;
  fileHash: () => string;
  snapshot: () => Snapshot__Output;
} {
  let image: ImageMount;
  let driver: DriverProcess;
  let usedBefore = 0;
  let usedAfter = 0;
  let fileHash = '';
  let volumeId = '';
  let snapshot: Snapshot__Output;

  beforeAll(async () => {
    const root = await scratch.dir();
    image = await mountFsImage(root, fsType, IMAGE_SIZE);
    driver = await scratch.start({ root, stateDir: path.join(image.mountPoint, 'state') });
    volumeId = (await createVolume(driver, { name: `pv-${fsType}`, bytes: 128 * MiB })).volume_id;
    fileHash = await writeRandomFile(path.join(driver.stateDir, 'volumes', volumeId, 'big.bin'), FILE_SIZE);
    usedBefore = await fsUsedBytes(image.mountPoint);
    snapshot = await createSnapshot(driver, `snap-${fsType}`, volumeId);
    usedAfter = await fsUsedBytes(image.mountPoint);
  });

  afterAll(async () => {
    // The driver must be gone before its state dir's filesystem can be unmounted.
    expect((await driver.stop()).code).toBe(0);
    await unmountFsImage(image);
  });

  return {
    driver: () => driver,
    usedBefore: () => usedBefore,
    usedAfter: () => usedAfter,
    fileHash: () => fileHash,
    snapshot: () => snapshot,
  };
}

const copyOnWriteLogged = (driver: DriverProcess): unknown[] => driver.logLines().filter((l) => 'copyOnWrite' in l).map((l) => l['copyOnWrite']);

describe.skipIf(!isRoot)(`snapshots on XFS with reflink share extents${NEEDS_ROOT}`, () => {
  const s = snapshotOnImage('xfs');

  it('the driver logs copyOnWrite: true at start-up', () => {
    expect(copyOnWriteLogged(s.driver())).toEqual([true]);
  });

  it('a snapshot of a 64 MiB file grows the used space by far less than 64 MiB', () => {
    expect(s.usedAfter() - s.usedBefore()).toBeLessThan(4 * MiB);
  });

  it('the snapshot holds the same bytes as the volume', async () => {
    expect(await sha256File(path.join(s.driver().stateDir, 'snapshots', s.snapshot().snapshot_id, 'big.bin'))).toBe(s.fileHash());
  });

  it('a restore from that snapshot also shares extents and holds the same bytes', async () => {
    const driver = s.driver();
    const before = await fsUsedBytes(driver.stateDir);
    const vol = await createVolume(driver, { name: 'pv-xfs-restore', bytes: 128 * MiB, source: fromSnapshot(s.snapshot().snapshot_id) });
    expect((await fsUsedBytes(driver.stateDir)) - before).toBeLessThan(4 * MiB);
    expect(await sha256File(path.join(driver.stateDir, 'volumes', vol.volume_id, 'big.bin'))).toBe(s.fileHash());
    await deleteVolume(driver, vol.volume_id);
  });
});

describe.skipIf(!isRoot)(`snapshots on ext4 (no reflink) are full copies${NEEDS_ROOT}`, () => {
  const s = snapshotOnImage('ext4');

  it('the driver logs copyOnWrite: false at start-up', () => {
    expect(copyOnWriteLogged(s.driver())).toEqual([false]);
  });

  it('a snapshot of a 64 MiB file grows the used space by about 64 MiB', () => {
    const grown = s.usedAfter() - s.usedBefore();
    expect(grown).toBeGreaterThanOrEqual(FILE_SIZE);
    expect(grown).toBeLessThan(FILE_SIZE + 4 * MiB);
  });

  it('the snapshot holds the same bytes as the volume', async () => {
    expect(await sha256File(path.join(s.driver().stateDir, 'snapshots', s.snapshot().snapshot_id, 'big.bin'))).toBe(s.fileHash());
  });
});
