import { lstat, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/csi-client';
import { exists, isMountPoint, isRoot, mountCapability, NEEDS_ROOT, Scratch, type DriverProcess } from '../helpers/driver-process';
import { MiB } from '../../support/units';

const scratch = new Scratch();

afterAll(async () => {
  const { leftMounts, leftDirs } = await scratch.dispose();
  expect(leftMounts).toEqual([]);
  expect(leftDirs).toEqual([]);
});

async function createVolume(driver: DriverProcess, name: string, bytes: number): Promise<string> {
  const c = driver.clients.controller;
  const res = await call(c.CreateVolume.bind(c), { name, capacity_range: { required_bytes: String(bytes) }, volume_capabilities: [mountCapability()] });
  return res.volume!.volume_id;
}

async function stageAndPublish(driver: DriverProcess, volumeId: string, stagingPath: string, targetPath: string): Promise<void> {
  const n = driver.clients.node;
  await call(n.NodeStageVolume.bind(n), { volume_id: volumeId, staging_target_path: stagingPath, volume_capability: mountCapability() });
  await call(n.NodePublishVolume.bind(n), {
    volume_id: volumeId,
    staging_target_path: stagingPath,
    target_path: targetPath,
    volume_capability: mountCapability(),
    readonly: false,
  });
}

describe.skipIf(!isRoot)(`a driver restarted after SIGKILL on the same state dir${NEEDS_ROOT}`, () => {
  let root: string;
  let driver: DriverProcess;
  const created = new Map<string, { id: string; bytes: number }>();
  let stagingPath: string;
  let targetPath: string;

  beforeAll(async () => {
    root = await scratch.dir();
    stagingPath = path.join(root, 'staging', 'pv-a');
    targetPath = path.join(root, 'pods', 'p', 'mount');
    const first = await scratch.start({ root });
    for (const [name, bytes] of [['pv-a', 5 * MiB], ['pv-b', 7 * MiB], ['pv-c', 11 * MiB]] as const) {
      created.set(name, { id: await createVolume(first, name, bytes), bytes });
    }
    await stageAndPublish(first, created.get('pv-a')!.id, stagingPath, targetPath);
    await writeFile(path.join(targetPath, 'before-crash.txt'), 'still here');
    expect((await first.kill()).signal).toBe('SIGKILL');
    driver = await scratch.start({ root });
  });

  afterAll(async () => {
    const c = driver.clients.controller;
    for (const { id } of created.values()) await call(c.DeleteVolume.bind(c), { volume_id: id });
    expect((await driver.stop()).code).toBe(0);
  });

  it('ListVolumes returns the same volumes with the same capacities', async () => {
    const c = driver.clients.controller;
    const res = await call(c.ListVolumes.bind(c), {});
    const listed = res.entries.map((e) => [e.volume!.volume_id, e.volume!.capacity_bytes]).sort();
    const expected = [...created.values()].map((v) => [v.id, String(v.bytes)]).sort();
    expect(listed).toEqual(expected);
  });

  it('CreateVolume with a name created before the crash returns the same volume ID', async () => {
    const b = created.get('pv-b')!;
    expect(await createVolume(driver, 'pv-b', b.bytes)).toBe(b.id);
  });

  it('data written before the crash is still readable through the published target', async () => {
    expect(await readFile(path.join(targetPath, 'before-crash.txt'), 'utf8')).toBe('still here');
  });

  it('a volume published before the crash can be unpublished and unstaged, which unmounts both paths', async () => {
    const n = driver.clients.node;
    const volumeId = created.get('pv-a')!.id;
    await call(n.NodeUnpublishVolume.bind(n), { volume_id: volumeId, target_path: targetPath });
    expect(await isMountPoint(targetPath)).toBe(false);
    expect(await exists(targetPath)).toBe(false);
    await call(n.NodeUnstageVolume.bind(n), { volume_id: volumeId, staging_target_path: stagingPath });
    expect(await isMountPoint(stagingPath)).toBe(false);
  });
});

describe.skipIf(!isRoot)(`a driver restarted after losing <state>/records/node/${NEEDS_ROOT}`, () => {
  let root: string;
  let driver: DriverProcess;
  let volumeId: string;
  let stagingPath: string;
  let targetPath: string;

  beforeAll(async () => {
    root = await scratch.dir();
    stagingPath = path.join(root, 'staging', 'pv-lost');
    targetPath = path.join(root, 'pods', 'p', 'mount');
    const first = await scratch.start({ root });
    volumeId = await createVolume(first, 'pv-lost', 5 * MiB);
    await stageAndPublish(first, volumeId, stagingPath, targetPath);
    await first.kill();
    const nodeRecords = path.join(first.stateDir, 'records', 'node');
    expect((await lstat(nodeRecords)).isDirectory()).toBe(true);
    await rm(nodeRecords, { recursive: true });
    driver = await scratch.start({ root });
  });

  afterAll(async () => {
    const c = driver.clients.controller;
    await call(c.DeleteVolume.bind(c), { volume_id: volumeId });
    expect((await driver.stop()).code).toBe(0);
  });

  it('NodeUnpublishVolume succeeds, unmounts the target and removes it', async () => {
    const n = driver.clients.node;
    await call(n.NodeUnpublishVolume.bind(n), { volume_id: volumeId, target_path: targetPath });
    expect(await isMountPoint(targetPath)).toBe(false);
    expect(await exists(targetPath)).toBe(false);
  });

  it('NodeUnstageVolume succeeds and unmounts the staging path', async () => {
    const n = driver.clients.node;
    await call(n.NodeUnstageVolume.bind(n), { volume_id: volumeId, staging_target_path: stagingPath });
    expect(await isMountPoint(stagingPath)).toBe(false);
  });

  it('repeating NodeUnpublishVolume and NodeUnstageVolume once nothing is mounted still succeeds', async () => {
    const n = driver.clients.node;
    await call(n.NodeUnpublishVolume.bind(n), { volume_id: volumeId, target_path: targetPath });
    await call(n.NodeUnstageVolume.bind(n), { volume_id: volumeId, staging_target_path: stagingPath });
    expect(await isMountPoint(stagingPath)).toBe(false);
  });
});
