import { status } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, codeOf } from '../helpers/csi-client';
import { exists, isMountPoint, isRoot, mountCapability, NEEDS_ROOT, Scratch, type DriverProcess } from '../helpers/driver-process';

const scratch = new Scratch();

afterAll(async () => {
  const { leftMounts, leftDirs } = await scratch.dispose();
  expect(leftMounts).toEqual([]);
  expect(leftDirs).toEqual([]);
});

const CAPACITY = String(10 * 1024 * 1024);

describe.skipIf(!isRoot)(`filesystem volume lifecycle on real mounts${NEEDS_ROOT}`, () => {
  let root: string;
  let driver: DriverProcess;
  let volumeId: string;
  let stagingPath: string;
  let targetPath: string;
  const payload = randomBytes(64 * 1024);

  beforeAll(async () => {
    root = await scratch.dir();
    driver = await scratch.start({ root });
    stagingPath = path.join(root, 'kubelet', 'plugins', 'staging', 'pv-lifecycle');
    targetPath = path.join(root, 'kubelet', 'pods', 'pod-1', 'volumes', 'pv-lifecycle', 'mount');
  });

  afterAll(async () => {
    expect((await driver.stop()).code).toBe(0);
  });

  it('CreateVolume answers the requested capacity and makes the volume directory and its record', async () => {
    const c = driver.clients.controller;
    const res = await call(c.CreateVolume.bind(c), {
      name: 'pv-lifecycle',
      capacity_range: { required_bytes: CAPACITY },
      volume_capabilities: [mountCapability('SINGLE_NODE_WRITER')],
    });
    volumeId = res.volume!.volume_id;
    expect(res.volume!.capacity_bytes).toBe(CAPACITY);
    expect(await exists(path.join(driver.stateDir, 'volumes', volumeId))).toBe(true);
    const record = JSON.parse(await readFile(path.join(driver.stateDir, 'records', 'volumes', `${volumeId}.json`), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ id: volumeId, name: 'pv-lifecycle', capacityBytes: CAPACITY, phase: 'ready' });
  });

  it('ControllerPublishVolume records one attachment to this node', async () => {
    const c = driver.clients.controller;
    await call(c.ControllerPublishVolume.bind(c), {
      volume_id: volumeId,
      node_id: driver.nodeId,
      volume_capability: mountCapability('SINGLE_NODE_WRITER'),
      readonly: false,
    });
    expect(await readdir(path.join(driver.stateDir, 'records', 'attachments'))).toHaveLength(1);
  });

  it('NodeStageVolume bind-mounts the volume at the staging path', async () => {
    const n = driver.clients.node;
    await call(n.NodeStageVolume.bind(n), { volume_id: volumeId, staging_target_path: stagingPath, volume_capability: mountCapability('SINGLE_NODE_WRITER') });
    expect(await isMountPoint(stagingPath)).toBe(true);
  });

  it('NodePublishVolume bind-mounts the staged volume at the target path', async () => {
    const n = driver.clients.node;
    await call(n.NodePublishVolume.bind(n), {
      volume_id: volumeId,
      staging_target_path: stagingPath,
      target_path: targetPath,
      volume_capability: mountCapability('SINGLE_NODE_WRITER'),
      readonly: false,
    });
    expect(await isMountPoint(targetPath)).toBe(true);
  });

  it('bytes written through the target path land in <state>/volumes/<id>/', async () => {
    await writeFile(path.join(targetPath, 'data.bin'), payload);
    const stored = await readFile(path.join(driver.stateDir, 'volumes', volumeId, 'data.bin'));
    expect(stored.equals(payload)).toBe(true);
  });

  it('NodeGetVolumeStats reports used bytes of at least the file size and total equal to the capacity', async () => {
    const n = driver.clients.node;
    const res = await call(n.NodeGetVolumeStats.bind(n), { volume_id: volumeId, volume_path: targetPath });
    const bytes = res.usage.find((u) => u.unit === 'BYTES')!;
    expect(BigInt(bytes.used)).toBeGreaterThanOrEqual(BigInt(payload.length));
    expect(bytes.total).toBe(CAPACITY);
    expect(res.volume_condition?.abnormal).toBe(false);
  });

  it('NodeUnpublishVolume unmounts the target and removes the target directory', async () => {
    const n = driver.clients.node;
    await call(n.NodeUnpublishVolume.bind(n), { volume_id: volumeId, target_path: targetPath });
    expect(await isMountPoint(targetPath)).toBe(false);
    expect(await exists(targetPath)).toBe(false);
  });

  it('NodeUnstageVolume unmounts the staging path and keeps the data', async () => {
    const n = driver.clients.node;
    await call(n.NodeUnstageVolume.bind(n), { volume_id: volumeId, staging_target_path: stagingPath });
    expect(await isMountPoint(stagingPath)).toBe(false);
    expect(await exists(path.join(driver.stateDir, 'volumes', volumeId, 'data.bin'))).toBe(true);
  });

  it('ControllerUnpublishVolume removes the attachment record', async () => {
    const c = driver.clients.controller;
    await call(c.ControllerUnpublishVolume.bind(c), { volume_id: volumeId, node_id: driver.nodeId });
    expect(await readdir(path.join(driver.stateDir, 'records', 'attachments'))).toEqual([]);
  });

  it('DeleteVolume removes the volume directory and its record file', async () => {
    const c = driver.clients.controller;
    await call(c.DeleteVolume.bind(c), { volume_id: volumeId });
    expect(await exists(path.join(driver.stateDir, 'volumes', volumeId))).toBe(false);
    expect(await exists(path.join(driver.stateDir, 'records', 'volumes', `${volumeId}.json`))).toBe(false);
  });

  it('NodeGetVolumeStats of the deleted volume is NOT_FOUND', async () => {
    const n = driver.clients.node;
    expect(await codeOf(call(n.NodeGetVolumeStats.bind(n), { volume_id: volumeId, volume_path: targetPath }))).toBe(status.NOT_FOUND);
  });
});

describe.skipIf(!isRoot)(`read-only and read-write publishes of one volume${NEEDS_ROOT}`, () => {
  let root: string;
  let driver: DriverProcess;
  let volumeId: string;
  let stagingPath: string;
  let roTarget: string;
  let rwTarget: string;

  const publish = async (targetPath: string, readonly: boolean): Promise<void> => {
    const n = driver.clients.node;
    await call(n.NodePublishVolume.bind(n), { volume_id: volumeId, staging_target_path: stagingPath, target_path: targetPath, volume_capability: mountCapability(), readonly });
  };

  beforeAll(async () => {
    root = await scratch.dir();
    driver = await scratch.start({ root });
    stagingPath = path.join(root, 'staging', 'pv-ro');
    roTarget = path.join(root, 'pods', 'reader', 'mount');
    rwTarget = path.join(root, 'pods', 'writer', 'mount');
    const c = driver.clients.controller;
    const res = await call(c.CreateVolume.bind(c), { name: 'pv-ro', capacity_range: { required_bytes: CAPACITY }, volume_capabilities: [mountCapability()] });
    volumeId = res.volume!.volume_id;
    const n = driver.clients.node;
    await call(n.NodeStageVolume.bind(n), { volume_id: volumeId, staging_target_path: stagingPath, volume_capability: mountCapability() });
  });

  afterAll(async () => {
    const n = driver.clients.node;
    for (const target of [roTarget, rwTarget]) await call(n.NodeUnpublishVolume.bind(n), { volume_id: volumeId, target_path: target });
    await call(n.NodeUnstageVolume.bind(n), { volume_id: volumeId, staging_target_path: stagingPath });
    const c = driver.clients.controller;
    await call(c.DeleteVolume.bind(c), { volume_id: volumeId });
    expect((await driver.stop()).code).toBe(0);
  });

  it('writing through a readonly publish fails with EROFS', async () => {
    await publish(roTarget, true);
    await expect(writeFile(path.join(roTarget, 'nope.txt'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
    expect(await exists(path.join(driver.stateDir, 'volumes', volumeId, 'nope.txt'))).toBe(false);
  });

  it('a read-write publish of the same volume at another target accepts writes (SINGLE_NODE_MULTI_WRITER)', async () => {
    await publish(rwTarget, false);
    await writeFile(path.join(rwTarget, 'hello.txt'), 'hello');
    expect(await readFile(path.join(driver.stateDir, 'volumes', volumeId, 'hello.txt'), 'utf8')).toBe('hello');
  });

  it('the read-only target sees what the read-write target wrote', async () => {
    expect(await readFile(path.join(roTarget, 'hello.txt'), 'utf8')).toBe('hello');
  });

  it('publishing the read-only target again as read-write is ALREADY_EXISTS', async () => {
    expect(await codeOf(publish(roTarget, false))).toBe(status.ALREADY_EXISTS);
  });
});
