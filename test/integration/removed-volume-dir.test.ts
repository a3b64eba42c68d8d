import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/csi-client';
import { isMountPoint, isRoot, mountCapability, NEEDS_ROOT, Scratch } from '../helpers/driver-process';

const scratch = new Scratch();

afterAll(async () => {
  const { leftMounts, leftDirs } = await scratch.dispose();
  expect(leftMounts).toEqual([]);
  expect(leftDirs).toEqual([]);
});

// On the real kernel: a dir volume's directory removed under its staging and target bind mounts (mountinfo then
// shows their root with "//deleted" appended). kubelet's volume health (CSIVolumeHealth) sees the volume's condition
// only in a successful NodeGetVolumeStats, and the pod can go only if unpublish and unstage still unmount.
describe.skipIf(!isRoot)(`a dir volume whose directory was removed under its mounts${NEEDS_ROOT}`, () => {
  it('NodeGetVolumeStats answers OK with the abnormal condition and no usage; unpublish, unstage and delete still work', async () => {
    const root = await scratch.dir();
    const driver = await scratch.start({ root });
    try {
      const [c, n] = [driver.clients.controller, driver.clients.node];
      const staging = path.join(root, 'kubelet', 'staging', 'pv-gone');
      const target = path.join(root, 'kubelet', 'pods', 'pod-1', 'mount');
      const created = await call(c.CreateVolume.bind(c), { name: 'pv-gone', capacity_range: { required_bytes: String(1 << 20) }, volume_capabilities: [mountCapability()] });
      const id = created.volume!.volume_id;
      await call(n.NodeStageVolume.bind(n), { volume_id: id, staging_target_path: staging, volume_capability: mountCapability() });
      await call(n.NodePublishVolume.bind(n), { volume_id: id, staging_target_path: staging, target_path: target, volume_capability: mountCapability(), readonly: false });
      const dataDir = path.join(driver.stateDir, 'volumes', id);
      await rm(dataDir, { recursive: true });

      const stats = await call(n.NodeGetVolumeStats.bind(n), { volume_id: id, volume_path: target });
      expect(stats.usage).toEqual([]);
      expect(stats.volume_condition).toEqual({ abnormal: true, message: `volume directory ${dataDir} is missing from the state directory` });

      await call(n.NodeUnpublishVolume.bind(n), { volume_id: id, target_path: target });
      await call(n.NodeUnstageVolume.bind(n), { volume_id: id, staging_target_path: staging });
      expect(await isMountPoint(target)).toBe(false);
      expect(await isMountPoint(staging)).toBe(false);
      await call(c.DeleteVolume.bind(c), { volume_id: id });
    } finally {
      expect((await driver.stop()).code).toBe(0);
    }
  });
});
