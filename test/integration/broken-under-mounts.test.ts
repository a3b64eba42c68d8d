import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/csi-client';
import { createVolume, DataScratch, deleteVolume, loopsBacking, MiB, stageAndPublish, unpublishAndUnstage } from '../helpers/data';
import { isMountPoint, isRoot, NEEDS_ROOT } from '../helpers/driver-process';

const scratch = new DataScratch();

afterAll(() => scratch.expectHostLeftClean());

// On the real kernel: a volume broken under its staging and target mounts while they stay. kubelet's volume health
// (CSIVolumeHealth) sees the volume's condition only in a successful NodeGetVolumeStats, and the pod can go only if
// unpublish and unstage still recognise and remove the mounts.
describe.skipIf(!isRoot)(`volumes broken under their mounts${NEEDS_ROOT}`, () => {
  it("a dir volume's directory removed (mountinfo root then ends in //deleted): stats answer OK with the condition and no usage; unpublish, unstage and delete work", async () => {
    const root = await scratch.dir();
    const driver = await scratch.start({ root });
    try {
      const id = (await createVolume(driver, { name: 'pv-gone', bytes: MiB })).volume_id;
      const pub = await stageAndPublish(driver, id, root);
      const dataDir = path.join(driver.stateDir, 'volumes', id);
      await rm(dataDir, { recursive: true });
      const n = driver.clients.node;
      const stats = await call(n.NodeGetVolumeStats.bind(n), { volume_id: id, volume_path: pub.targetPath });
      expect(stats.usage).toEqual([]);
      expect(stats.volume_condition).toEqual({ abnormal: true, message: `volume directory ${dataDir} is missing from the state directory` });
      await unpublishAndUnstage(driver, pub);
      expect(await isMountPoint(pub.targetPath)).toBe(false);
      expect(await isMountPoint(pub.stagingPath)).toBe(false);
      await deleteVolume(driver, id);
    } finally {
      expect((await driver.stop()).code).toBe(0);
    }
  });

  it("a raw block volume's loop device detached (losetup -d) under its binds: stats answer OK with LoopDeviceDetached; unpublish, unstage and delete work", async () => {
    const root = await scratch.dir();
    const driver = await scratch.start({ root });
    try {
      const id = (await createVolume(driver, { name: 'pv-detached', bytes: 16 * MiB, block: true })).volume_id;
      const pub = await stageAndPublish(driver, id, root, true);
      const image = path.join(driver.stateDir, 'volumes', id, 'disk.img');
      const [device] = await loopsBacking(image);
      await promisify(execFile)('losetup', ['-d', device!]);
      expect(await loopsBacking(image)).toEqual([]);
      const n = driver.clients.node;
      const stats = await call(n.NodeGetVolumeStats.bind(n), { volume_id: id, volume_path: pub.targetPath });
      expect(stats.volume_condition!.abnormal).toBe(true);
      expect(stats.volume_condition!.message).toMatch(/^no loop device backs the volume's image .* any more/);
      await unpublishAndUnstage(driver, pub);
      expect(await isMountPoint(pub.targetPath)).toBe(false);
      await deleteVolume(driver, id);
    } finally {
      expect((await driver.stop()).code).toBe(0);
    }
  });
});
