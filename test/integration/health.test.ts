import { access, rm, truncate } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemStatFs } from '../../src/os/fs-stats';
import { call } from '../helpers/csi-client';
import {
  createVolume,
  DataScratch,
  loopsBacking,
  MiB,
  mountFsImage,
  run,
  stageAndPublish,
  unmountFsImage,
  type ImageMount,
} from '../helpers/data';
import { isRoot, mountCapability, NEEDS_ROOT, type DriverProcess } from '../helpers/driver-process';

const scratch = new DataScratch();

afterAll(() => scratch.expectHostLeftClean());

type Status = { status: string; reason: string; message: string };

async function controllerHealth(driver: DriverProcess, volumeId: string): Promise<Status[]> {
  const c = driver.clients.controller;
  return (await call(c.ControllerGetVolumeHealth.bind(c), { volume_id: volumeId })).volume_health!.health_statuses as Status[];
}

async function nodeHealth(driver: DriverProcess, volumeId: string): Promise<Status[]> {
  const n = driver.clients.node;
  return (await call(n.NodeGetVolumeHealth.bind(n), { volume_id: volumeId })).volume_health!.health_statuses as Status[];
}

async function imageVolume(driver: DriverProcess, name: string): Promise<string> {
  const c = driver.clients.controller;
  const res = await call(c.CreateVolume.bind(c), {
    name,
    capacity_range: { required_bytes: String(32 * MiB) },
    volume_capabilities: [mountCapability('SINGLE_NODE_WRITER')],
    parameters: { sizeLimit: 'image' },
  });
  return res.volume!.volume_id;
}

describe.skipIf(!isRoot)(`volume health on real filesystems, mounts and loop devices${NEEDS_ROOT}`, () => {
  let root: string;
  let driver: DriverProcess;
  const dataOf = (id: string) => path.join(driver.stateDir, 'volumes', id);
  const imageOf = (id: string) => path.join(dataOf(id), 'disk.img');

  beforeAll(async () => {
    root = await scratch.dir();
    driver = await scratch.start({ root, extraArgs: ['--csi-health-api=1.13'] });
  });

  afterAll(async () => {
    expect((await driver.stop()).code).toBe(0);
  });

  it('reports a volume directory removed from the state directory as INACCESSIBLE', async () => {
    const id = (await createVolume(driver, { name: 'pv-dir', bytes: 8 * MiB })).volume_id;
    expect(await controllerHealth(driver, id)).toEqual([]);
    await rm(dataOf(id), { recursive: true });
    expect(await controllerHealth(driver, id)).toEqual([
      { status: 'INACCESSIBLE', reason: 'VolumeDirectoryMissing', message: `volume directory ${dataOf(id)} is missing from the state directory` },
    ]);
  });

  it('reports an image truncated below, then grown beyond, its capacity; healthy again at its size', async () => {
    const id = await imageVolume(driver, 'pv-image-size');
    await truncate(imageOf(id), 16 * MiB);
    expect(await controllerHealth(driver, id)).toEqual([{
      status: 'DATA_LOSS', reason: 'VolumeImageSize',
      message: `volume image is ${16 * MiB} bytes, smaller than the volume's capacity ${32 * MiB}: data past its end is lost`,
    }]);
    await truncate(imageOf(id), 48 * MiB);
    expect(await controllerHealth(driver, id)).toEqual([{
      status: 'DEGRADED', reason: 'VolumeImageSize', message: `volume image is ${48 * MiB} bytes, larger than the volume's capacity ${32 * MiB}`,
    }]);
    await truncate(imageOf(id), 32 * MiB);
    expect(await controllerHealth(driver, id)).toEqual([]);
  });

  it('reads the kernel ext4 error count of a staged image volume (none on a fresh filesystem)', async () => {
    const id = await imageVolume(driver, 'pv-image-errors');
    const p = await stageAndPublish(driver, id, root);
    const [device] = await loopsBacking(imageOf(id));
    // The file the check reads exists for a mounted ext4 filesystem: the check is not reading nothing.
    await access(path.join('/sys/fs/ext4', path.basename(device!), 'errors_count'));
    expect(await nodeHealth(driver, id)).toEqual([]);
    await run('umount', [p.targetPath]);
    expect(await nodeHealth(driver, id)).toEqual([
      { status: 'INACCESSIBLE', reason: 'TargetMountMissing', message: `the volume is no longer mounted at its target path ${p.targetPath}` },
    ]);
    const n = driver.clients.node;
    await call(n.NodeUnpublishVolume.bind(n), { volume_id: id, target_path: p.targetPath });
    await call(n.NodeUnstageVolume.bind(n), { volume_id: id, staging_target_path: p.stagingPath });
    expect(await loopsBacking(imageOf(id))).toEqual([]);
  });

  it('reports a loop device detached with losetup -d under a staged block volume', async () => {
    const id = (await createVolume(driver, { name: 'pv-block', bytes: 16 * MiB, block: true })).volume_id;
    const n = driver.clients.node;
    const stagingPath = path.join(root, 'staging', id);
    await call(n.NodeStageVolume.bind(n), { volume_id: id, staging_target_path: stagingPath, volume_capability: { access_mode: { mode: 'SINGLE_NODE_WRITER' }, block: {} } });
    const [device] = await loopsBacking(imageOf(id));
    expect(await nodeHealth(driver, id)).toEqual([]);
    await run('losetup', ['--detach', device!]);
    expect(await nodeHealth(driver, id)).toEqual([{
      status: 'INACCESSIBLE', reason: 'LoopDeviceDetached',
      message: `no loop device backs the volume's image ${imageOf(id)} any more (detached under the staged volume)`,
    }]);
    await call(n.NodeUnstageVolume.bind(n), { volume_id: id, staging_target_path: stagingPath });
  });
});

describe.skipIf(!isRoot)(`storage health of a real state filesystem${NEEDS_ROOT}`, () => {
  let root: string;
  let fs: ImageMount;
  let driver: DriverProcess;

  beforeAll(async () => {
    root = await scratch.dir();
    fs = await mountFsImage(root, 'ext4', 64 * MiB);
    driver = await scratch.start({ root, stateDir: path.join(fs.mountPoint, 'state'), extraArgs: ['--csi-health-api=1.13'] });
  });

  afterAll(async () => {
    expect((await driver.stop()).code).toBe(0);
    await unmountFsImage(fs);
  });

  const storage = async () => {
    const n = driver.clients.node;
    return (await call(n.NodeGetStorageHealth.bind(n), {})).backend_health as Status[];
  };

  it('answers healthy with room, and StateFilesystemNearlyFull once under 5% is free', async () => {
    expect(await storage()).toEqual([]);
    const filler = path.join(fs.mountPoint, 'filler');
    const { availableBytes } = await systemStatFs(fs.mountPoint);
    // Leave about 1 MiB of the ~60 MiB free: well under 5%.
    await run('fallocate', ['-l', String(Number(availableBytes) - MiB), filler]);
    const found = await storage();
    expect(found.map((f) => [f.status, f.reason])).toEqual([['STORAGE_DEGRADED', 'StateFilesystemNearlyFull']]);
    expect(found[0]!.message).toMatch(/^the state filesystem has \d+ of \d+ bytes free \(under 5%\)$/);
    await rm(filler);
    expect(await storage()).toEqual([]);
  });
});
