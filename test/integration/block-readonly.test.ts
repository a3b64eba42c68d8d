import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/csi-client';
import { isRoot, NEEDS_ROOT, Scratch, type DriverProcess } from '../helpers/driver-process';

const run = promisify(execFile);
const scratch = new Scratch();
const blockCap = { block: {}, access_mode: { mode: 'SINGLE_NODE_MULTI_WRITER' as const } };

/**
 * Loop devices backed by files under `root`: loop devices are host-wide, and other test files (and other work on
 * the host) attach and detach their own meanwhile, so only this test's own are counted.
 */
async function loopCount(root: string): Promise<number> {
  const { stdout } = await run('losetup', ['--list', '--noheadings', '--output', 'BACK-FILE']);
  return stdout.split('\n').filter((f) => f.trim().startsWith(`${root}/`)).length;
}

afterAll(async () => {
  const { leftMounts, leftDirs } = await scratch.dispose();
  expect(leftMounts).toEqual([]);
  expect(leftDirs).toEqual([]);
});

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
