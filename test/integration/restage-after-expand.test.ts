/**
 * Issue 13, defect 6: ControllerExpandVolume of a *staged* ext4 image volume where the mounted filesystem cannot grow
 * online (ext4's online resize needs CAP_SYS_RESOURCE; kubelet's node plugin pod may lack it, and so does this test
 * VM). A repeated NodeStageVolume must stay idempotent, NodeExpandVolume must say why the growth failed, and the
 * filesystem grows at the next stage.
 */
import { status } from '@grpc/grpc-js';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceError } from '@grpc/grpc-js';
import { call } from '../helpers/csi-client';
import { DataScratch, deleteVolume, MiB, stageAndPublish, unpublishAndUnstage, type ImageMount, type Published } from '../helpers/data';
import { isRoot, NEEDS_ROOT, type DriverProcess } from '../helpers/driver-process';
import { byteStats, createSizedVolume, hasCapSysResource, mountHostFs, unmountHostFs, type SizedVolume } from '../helpers/size-limits';

const scratch = new DataScratch();
const SIZE = 64 * MiB;
const GROWN = 128 * MiB;
const canGrowOnline = hasCapSysResource();

afterAll(() => scratch.expectHostLeftClean());

describe.skipIf(!isRoot)(`a staged ext4 image volume expanded by the controller${NEEDS_ROOT}`, () => {
  let host: ImageMount;
  let driver: DriverProcess;
  let vol: SizedVolume;
  let pub: Published;

  beforeAll(async () => {
    const root = await scratch.dir();
    host = await mountHostFs(root, 'ext4', 1024 * MiB);
    driver = await scratch.start({ root, stateDir: path.join(host.mountPoint, 'state') });
    vol = await createSizedVolume(driver, 'pv-restage', SIZE, { sizeLimit: 'image' });
    pub = await stageAndPublish(driver, vol.volumeId, root);
    await writeFile(path.join(pub.targetPath, 'kept.txt'), 'written before the expansion');
    const c = driver.clients.controller;
    const res = await call(c.ControllerExpandVolume.bind(c), { volume_id: vol.volumeId, capacity_range: { required_bytes: String(GROWN) } });
    expect(res.node_expansion_required).toBe(true);
  });

  afterAll(async () => {
    await unpublishAndUnstage(driver, pub);
    await deleteVolume(driver, vol.volumeId);
    expect((await driver.stop()).code).toBe(0);
    await unmountHostFs(host);
  });

  it('answers a repeated NodeStageVolume with the same arguments OK, and the volume stays usable', async () => {
    const n = driver.clients.node;
    for (let i = 0; i < 3; i++) {
      await call(n.NodeStageVolume.bind(n), { volume_id: vol.volumeId, staging_target_path: pub.stagingPath, volume_capability: pub.capability });
    }
    expect(await readFile(path.join(pub.targetPath, 'kept.txt'), 'utf8')).toBe('written before the expansion');
    await writeFile(path.join(pub.targetPath, 'after.txt'), 'still writable');
  });

  it.skipIf(canGrowOnline)('answers NodeExpandVolume FAILED_PRECONDITION naming why the mounted filesystem cannot grow', async () => {
    const n = driver.clients.node;
    const attempt = call(n.NodeExpandVolume.bind(n), { volume_id: vol.volumeId, volume_path: pub.targetPath, capacity_range: { required_bytes: String(GROWN) }, volume_capability: pub.capability });
    const err = (await attempt.then(() => null, (e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/cannot grow while it is mounted/);
    expect(err.details).toMatch(/next NodeStageVolume/);
  });

  it('grows the filesystem at the next unstage and stage, with the data kept', async () => {
    await unpublishAndUnstage(driver, pub);
    pub = await stageAndPublish(driver, vol.volumeId, path.dirname(path.dirname(pub.stagingPath)));
    const stats = await byteStats(driver, vol.volumeId, pub.targetPath);
    expect(stats.total).toBeGreaterThan(SIZE + 32 * MiB);
    expect(stats.total).toBeLessThanOrEqual(GROWN);
    expect(await readFile(path.join(pub.targetPath, 'kept.txt'), 'utf8')).toBe('written before the expansion');
  });
});
