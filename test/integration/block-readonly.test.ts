import { execFile } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/csi-client';
import { DataScratch, loopsBacking } from '../helpers/data';
import { isRoot, NEEDS_ROOT, type DriverProcess } from '../helpers/driver-process';

const run = promisify(execFile);
const scratch = new DataScratch();
const blockCap = { block: {}, access_mode: { mode: 'SINGLE_NODE_MULTI_WRITER' as const } };

/**
 * Loop devices backed by files under `root`: loop devices are host-wide, and other test files (and other work on
 * the host) attach and detach their own meanwhile, so only this test's own are counted.
 */
async function loopCount(root: string): Promise<number> {
  const { stdout } = await run('losetup', ['--list', '--noheadings', '--output', 'BACK-FILE']);
  return stdout.split('\n').filter((f) => f.trim().startsWith(`${root}/`)).length;
}

afterAll(() => scratch.expectHostLeftClean());

describe.skipIf(!isRoot)(`read-only publish of a block volume${NEEDS_ROOT}`, () => {
  let driver: DriverProcess;
  let root: string;
  let volumeId: string;
  beforeAll(async () => {
    root = await scratch.dir();
    driver = await scratch.start({ root });
    const c = driver.clients.controller;
    const res = await call(c.CreateVolume.bind(c), { name: 'ro-block', capacity_range: { required_bytes: String(8 << 20) }, volume_capabilities: [blockCap] });
    volumeId = res.volume!.volume_id;
    const n = driver.clients.node;
    await call(n.NodeStageVolume.bind(n), { volume_id: volumeId, staging_target_path: path.join(root, 'staging'), volume_capability: blockCap });
  });

  afterAll(async () => {
    const n = driver.clients.node;
    await call(n.NodeUnstageVolume.bind(n), { volume_id: volumeId, staging_target_path: path.join(root, 'staging') });
    const c = driver.clients.controller;
    await call(c.DeleteVolume.bind(c), { volume_id: volumeId });
    expect((await driver.stop()).code).toBe(0);
    expect(await loopCount(root)).toBe(0);
  });

  it('gives the target a read-only device that refuses writes, and detaches it at unpublish', async () => {
    const n = driver.clients.node;
    const target = path.join(root, 'pods', 'ro', 'dev');
    const req = { volume_id: volumeId, staging_target_path: path.join(root, 'staging'), target_path: target, volume_capability: blockCap, readonly: true };
    await call(n.NodePublishVolume.bind(n), req);
    expect(await loopCount(root)).toBe(2);
    const write = open(target, 'r+').then(async (h) => {
      try {
        await h.write(Buffer.alloc(512, 1), 0, 512, 0);
      } finally {
        await h.close();
      }
    });
    await expect(write).rejects.toMatchObject({ code: expect.stringMatching(/^(EROFS|EACCES|EPERM)$/) });
    await call(n.NodeUnpublishVolume.bind(n), { volume_id: volumeId, target_path: target });
    expect(await loopCount(root)).toBe(1);
  });
});

/**
 * Regression (found by the fault harness design review, test/faults): the node record remembered the read-only loop
 * device of a target by name, and NodeUnpublishVolume detached that name. After a reboot the name means nothing: the
 * kernel hands the number to whoever attaches next, and unpublishing a target whose pod was deleted while the node
 * was down detached somebody else's loop device.
 */
describe.skipIf(!isRoot)(`NodeUnpublishVolume of a read-only block target after a reboot${NEEDS_ROOT}`, () => {
  it("leaves alone the loop device that now has the number the target's read-only loop had", async () => {
    const root = await scratch.dir();
    const staging = path.join(root, 'staging');
    const target = path.join(root, 'pods', 'ro', 'dev');
    const first = await scratch.start({ root });
    const c = first.clients.controller;
    const volumeId = (await call(c.CreateVolume.bind(c), { name: 'ro-reboot', capacity_range: { required_bytes: String(8 << 20) }, volume_capabilities: [blockCap] })).volume!.volume_id;
    const n = first.clients.node;
    await call(n.NodeStageVolume.bind(n), { volume_id: volumeId, staging_target_path: staging, volume_capability: blockCap });
    await call(n.NodePublishVolume.bind(n), { volume_id: volumeId, staging_target_path: staging, target_path: target, volume_capability: blockCap, readonly: true });
    const image = path.join(first.stateDir, 'volumes', volumeId, 'disk.img');
    const record = JSON.parse(await readFile(path.join(first.stateDir, 'records', 'node', `${volumeId}.json`), 'utf8')) as { targets: Record<string, { loopDevice: string }> };
    const staleDevice = record.targets[target]!.loopDevice;
    expect(await loopsBacking(image)).toContain(staleDevice);
    await first.kill();

    // The reboot: mounts and loop devices are gone. Then someone else attaches the freed number first.
    await run('umount', ['--', target]);
    for (const dev of await loopsBacking(image)) await run('losetup', ['--detach', dev]);
    const sentinel = path.join(root, 'someone-else.img');
    const h = await open(sentinel, 'w');
    await h.truncate(1 << 20);
    await h.close();
    await run('losetup', [staleDevice, sentinel]);
    try {
      const driver = await scratch.start({ root });
      const n2 = driver.clients.node;
      // The pod was deleted while the node was down: kubelet only unpublishes.
      await call(n2.NodeUnpublishVolume.bind(n2), { volume_id: volumeId, target_path: target });
      expect(await loopsBacking(sentinel)).toEqual([staleDevice]);
      await call(n2.NodeUnstageVolume.bind(n2), { volume_id: volumeId, staging_target_path: staging });
      await call(driver.clients.controller.DeleteVolume.bind(driver.clients.controller), { volume_id: volumeId });
      expect((await driver.stop()).code).toBe(0);
    } finally {
      await run('losetup', ['--detach', staleDevice]).catch(() => undefined);
    }
  });
});
