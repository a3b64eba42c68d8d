import { status } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, codeOf } from '../helpers/csi-client';
import {
  allocatedBytes,
  blockCapability,
  blockDeviceSize,
  createSnapshot,
  createVolume,
  DataScratch,
  deleteVolume,
  fromSnapshot,
  fromVolume,
  loopsBacking,
  MiB,
  publishAt,
  readRange,
  run,
  sha256,
  stageAndPublish,
  unpublishAndUnstage,
  writeRange,
  type Published,
} from '../helpers/data';
import { exists, isMountPoint, isRoot, NEEDS_ROOT, type DriverProcess } from '../helpers/driver-process';

const scratch = new DataScratch();

afterAll(() => scratch.expectHostLeftClean());

const imageOf = (driver: DriverProcess, volumeId: string): string => path.join(driver.stateDir, 'volumes', volumeId, 'disk.img');

async function nodeRecord(driver: DriverProcess, volumeId: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path.join(driver.stateDir, 'records', 'node', `${volumeId}.json`), 'utf8')) as Record<string, unknown>;
}

describe.skipIf(!isRoot)(`raw block volume lifecycle on real loop devices${NEEDS_ROOT}`, () => {
  let root: string;
  let driver: DriverProcess;
  let volumeId: string;
  let image: string;
  let device: string;
  let pub: Published;
  let secondTarget: string;
  let restored: Published;
  const OFFSET = 5 * MiB;
  const payload = randomBytes(MiB);
  const overwrite = randomBytes(MiB);

  beforeAll(async () => {
    root = await scratch.dir();
    driver = await scratch.start({ root });
    secondTarget = path.join(root, 'pods', 'second', 'dev');
  });

  afterAll(async () => {
    expect((await driver.stop()).code).toBe(0);
  });

  it('CreateVolume of 32 MiB with a block capability makes a sparse disk.img of exactly 32 MiB', async () => {
    const vol = await createVolume(driver, { name: 'pv-block', bytes: 32 * MiB, block: true });
    volumeId = vol.volume_id;
    image = imageOf(driver, volumeId);
    expect(vol.capacity_bytes).toBe(String(32 * MiB));
    expect((await lstat(image)).size).toBe(32 * MiB);
    expect(await allocatedBytes(image)).toBeLessThan(MiB);
  });

  it('ControllerPublishVolume with the block capability records one attachment', async () => {
    const c = driver.clients.controller;
    await call(c.ControllerPublishVolume.bind(c), { volume_id: volumeId, node_id: driver.nodeId, volume_capability: blockCapability(), readonly: false });
    expect(await readdir(path.join(driver.stateDir, 'records', 'attachments'))).toHaveLength(1);
  });

  it('NodeStageVolume attaches one loop device backed by disk.img and records it', async () => {
    pub = {
      volumeId,
      stagingPath: path.join(root, 'staging', 'pv-block'),
      targetPath: path.join(root, 'pods', 'first', 'dev'),
      capability: blockCapability(),
    };
    const n = driver.clients.node;
    await call(n.NodeStageVolume.bind(n), { volume_id: volumeId, staging_target_path: pub.stagingPath, volume_capability: pub.capability });
    const devices = await loopsBacking(image);
    expect(devices).toHaveLength(1);
    device = devices[0]!;
    expect((await nodeRecord(driver, volumeId))['loopDevice']).toBe(device);
  });

  it('NodePublishVolume bind-mounts the loop device onto a file at the target path', async () => {
    await publishAt(driver, pub, pub.targetPath);
    expect(await isMountPoint(pub.targetPath)).toBe(true);
    const target = await stat(pub.targetPath);
    expect(target.isBlockDevice()).toBe(true);
    expect(target.rdev).toBe((await stat(device)).rdev);
  });

  it('1 MiB written at offset 5 MiB through the target lands in disk.img at that offset', async () => {
    // writeRange fsyncs the device, which makes the loop driver write through to its backing file.
    await writeRange(pub.targetPath, OFFSET, payload);
    expect(sha256(await readRange(image, OFFSET, MiB))).toBe(sha256(payload));
  });

  it('NodeUnpublishVolume unmounts the target and removes the target file', async () => {
    const n = driver.clients.node;
    await call(n.NodeUnpublishVolume.bind(n), { volume_id: volumeId, target_path: pub.targetPath });
    expect(await isMountPoint(pub.targetPath)).toBe(false);
    expect(await exists(pub.targetPath)).toBe(false);
  });

  it('a publish at a second target reads the same bytes back', async () => {
    await publishAt(driver, pub, secondTarget);
    expect(sha256(await readRange(secondTarget, OFFSET, MiB))).toBe(sha256(payload));
  });

  it('a restore of a snapshot shows the bytes at snapshot time, not ones written to the source afterwards', async () => {
    const snap = await createSnapshot(driver, 'snap-block', volumeId);
    await writeRange(secondTarget, OFFSET, overwrite);
    const vol = await createVolume(driver, { name: 'pv-block-restored', bytes: 32 * MiB, block: true, source: fromSnapshot(snap.snapshot_id) });
    restored = await stageAndPublish(driver, vol.volume_id, root, true);
    expect(sha256(await readRange(restored.targetPath, OFFSET, MiB))).toBe(sha256(payload));
    const c = driver.clients.controller;
    await call(c.DeleteSnapshot.bind(c), { snapshot_id: snap.snapshot_id });
  });

  it('a restore of a block snapshot as a filesystem volume is INVALID_ARGUMENT', async () => {
    const snap = await createSnapshot(driver, 'snap-block-2', volumeId);
    expect(await codeOf(createVolume(driver, { name: 'pv-block-as-fs', bytes: 32 * MiB, source: fromSnapshot(snap.snapshot_id) }))).toBe(status.INVALID_ARGUMENT);
    const c = driver.clients.controller;
    await call(c.DeleteSnapshot.bind(c), { snapshot_id: snap.snapshot_id });
  });

  it('a clone into a larger block volume has a disk.img of the larger size and the source bytes', async () => {
    const vol = await createVolume(driver, { name: 'pv-block-clone', bytes: 48 * MiB, block: true, source: fromVolume(volumeId) });
    const cloneImage = imageOf(driver, vol.volume_id);
    expect(vol.capacity_bytes).toBe(String(48 * MiB));
    expect((await lstat(cloneImage)).size).toBe(48 * MiB);
    expect(sha256(await readRange(cloneImage, OFFSET, MiB))).toBe(sha256(overwrite));
    await deleteVolume(driver, vol.volume_id);
  });

  it("the restored volume's disk.img is exactly 32 MiB and still sparse", async () => {
    const restoredImage = imageOf(driver, restored.volumeId);
    expect((await lstat(restoredImage)).size).toBe(32 * MiB);
    expect(await allocatedBytes(restoredImage)).toBeLessThan(4 * MiB);
  });

  it('ControllerExpandVolume to 64 MiB grows disk.img and the attached loop device', async () => {
    const c = driver.clients.controller;
    const res = await call(c.ControllerExpandVolume.bind(c), { volume_id: volumeId, capacity_range: { required_bytes: String(64 * MiB) }, volume_capability: blockCapability() });
    expect(res.capacity_bytes).toBe(String(64 * MiB));
    expect((await lstat(image)).size).toBe(64 * MiB);
    expect(await blockDeviceSize(device)).toBe(64 * MiB);
  });

  it('after expansion the data is intact and the new last MiB is readable zeros', async () => {
    expect(sha256(await readRange(secondTarget, OFFSET, MiB))).toBe(sha256(overwrite));
    expect((await readRange(secondTarget, 63 * MiB, MiB)).equals(Buffer.alloc(MiB))).toBe(true);
  });

  it('NodeUnstageVolume while still published is FAILED_PRECONDITION and keeps the loop device', async () => {
    const n = driver.clients.node;
    expect(await codeOf(call(n.NodeUnstageVolume.bind(n), { volume_id: volumeId, staging_target_path: pub.stagingPath }))).toBe(status.FAILED_PRECONDITION);
    expect(await loopsBacking(image)).toEqual([device]);
  });

  it('NodeUnstageVolume after the last unpublish detaches the loop device', async () => {
    const n = driver.clients.node;
    await call(n.NodeUnpublishVolume.bind(n), { volume_id: volumeId, target_path: secondTarget });
    await call(n.NodeUnstageVolume.bind(n), { volume_id: volumeId, staging_target_path: pub.stagingPath });
    expect(await loopsBacking(image)).toEqual([]);
  });

  it('ControllerUnpublishVolume and DeleteVolume remove the attachment and the volume directory', async () => {
    const c = driver.clients.controller;
    await call(c.ControllerUnpublishVolume.bind(c), { volume_id: volumeId, node_id: driver.nodeId });
    await deleteVolume(driver, volumeId);
    expect(await readdir(path.join(driver.stateDir, 'records', 'attachments'))).toEqual([]);
    expect(await exists(path.dirname(image))).toBe(false);
  });

  it('DeleteVolume of a block volume still staged detaches its loop device before removing it', async () => {
    const restoredImage = imageOf(driver, restored.volumeId);
    const n = driver.clients.node;
    await call(n.NodeUnpublishVolume.bind(n), { volume_id: restored.volumeId, target_path: restored.targetPath });
    expect(await loopsBacking(restoredImage)).toHaveLength(1);
    await deleteVolume(driver, restored.volumeId);
    expect(await loopsBacking(restoredImage)).toEqual([]);
    expect(await exists(path.dirname(restoredImage))).toBe(false);
  });
});

describe.skipIf(!isRoot)(`a staged block volume after a simulated reboot${NEEDS_ROOT}`, () => {
  let driver: DriverProcess;
  let pub: Published;
  let image: string;
  const OFFSET = 3 * MiB;
  const payload = randomBytes(256 * 1024);

  beforeAll(async () => {
    const root = await scratch.dir();
    const first = await scratch.start({ root });
    const vol = await createVolume(first, { name: 'pv-reboot', bytes: 16 * MiB, block: true });
    image = imageOf(first, vol.volume_id);
    pub = await stageAndPublish(first, vol.volume_id, root, true);
    await writeRange(pub.targetPath, OFFSET, payload);
    const [oldDevice] = await loopsBacking(image);
    expect((await first.kill()).signal).toBe('SIGKILL');
    // What a reboot does: mounts and loop devices are gone, the state dir and the (empty) target file stay.
    await run('umount', [pub.targetPath]);
    await run('losetup', ['--detach', oldDevice!]);
    expect(await loopsBacking(image)).toEqual([]);
    driver = await scratch.start({ root });
  });

  afterAll(async () => {
    await deleteVolume(driver, pub.volumeId);
    expect((await driver.stop()).code).toBe(0);
  });

  it('the restarted driver attaches a loop device backed by disk.img again', async () => {
    expect(await loopsBacking(image)).toHaveLength(1);
  });

  it('the node record names the re-attached loop device', async () => {
    expect((await nodeRecord(driver, pub.volumeId))['loopDevice']).toBe((await loopsBacking(image))[0]);
  });

  it('the start-up log counts one re-attached loop device', () => {
    expect(driver.logLines().filter((l) => 'loopDevicesReattached' in l).map((l) => l['loopDevicesReattached'])).toEqual([1]);
  });

  it('NodePublishVolume at the old target works again and shows the bytes written before the reboot', async () => {
    await publishAt(driver, pub, pub.targetPath);
    expect(await isMountPoint(pub.targetPath)).toBe(true);
    expect(sha256(await readRange(pub.targetPath, OFFSET, payload.length))).toBe(sha256(payload));
  });

  it('NodeUnpublishVolume and NodeUnstageVolume then unmount the target and detach the loop device', async () => {
    await unpublishAndUnstage(driver, pub);
    expect(await exists(pub.targetPath)).toBe(false);
    expect(await loopsBacking(image)).toEqual([]);
  });
});
