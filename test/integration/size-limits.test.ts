/**
 * Enforced sizes on real filesystems the tests make on loop-mounted images: each kind's 64 MiB volume (xfs images:
 * 320 MiB, mkfs.xfs's floor) is filled from inside until the kernel refuses, grown online while published, filled
 * again, and NodeGetVolumeStats is compared with what was written.
 */
import { status } from '@grpc/grpc-js';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, codeOf } from '../helpers/csi-client';
import { DataScratch, deleteVolume, fromSnapshot, MiB, sha256File, stageAndPublish, unpublishAndUnstage, writeRandomFile, type ImageMount, type Published } from '../helpers/data';
import { isRoot, NEEDS_ROOT, type DriverProcess } from '../helpers/driver-process';
import {
  byteStats,
  canMountProjectQuota,
  createSizedVolume,
  expandPublished,
  fillUntilFull,
  hasCapSysResource,
  mountHostFs,
  unmountHostFs,
  writeFailedForSpace,
  type FillResult,
  type HostFs,
  type SizedVolume,
} from '../helpers/size-limits';

const scratch = new DataScratch();

afterAll(() => scratch.expectHostLeftClean());

/** One ext4 block group of a small filesystem (8192 blocks of 1 KiB): how far from the limit a refusal may land. */
const SLACK = 8 * MiB;
const HOST_BYTES = 2048 * MiB;

const xfsQuota = isRoot && canMountProjectQuota('xfs-prjquota');
const ext4Quota = isRoot && canMountProjectQuota('ext4-prjquota');
const capSysResource = hasCapSysResource();
const NO_PRJQUOTA = ' [SKIPPED: this kernel cannot mount it with prjquota (no CONFIG_XFS_QUOTA / CONFIG_QFMT_V2)]';
const NO_EXT4_ONLINE_RESIZE = ' [SKIPPED: ext4 online resize needs CAP_SYS_RESOURCE, which this process lacks]';

interface Case {
  title: string;
  hostFs: HostFs;
  parameters: Record<string, string>;
  size: number;
  grownSize: number;
  nodeDriven: boolean;
  /** Where the refusal must land: the kind's limit (quota) or the free space its own filesystem showed (image). */
  limitOf: (capacity: number, availableBefore: number) => number;
  canGrowOnline: boolean;
}

function sizeLimitSuite(c: Case, enabled: boolean, why: string): void {
  describe.skipIf(!enabled)(`${c.title}${why}`, () => {
    let host: ImageMount;
    let driver: DriverProcess;
    let vol: SizedVolume;
    let pub: Published;
    let first: FillResult;

    beforeAll(async () => {
      const root = await scratch.dir();
      host = await mountHostFs(root, c.hostFs, HOST_BYTES);
      driver = await scratch.start({ root, stateDir: path.join(host.mountPoint, 'state'), extraArgs: c.nodeDriven ? ['--controller-expansion=false'] : [] });
      vol = await createSizedVolume(driver, `pv-${c.hostFs}`, c.size, c.parameters);
      pub = await stageAndPublish(driver, vol.volumeId, root);
    });

    afterAll(async () => {
      await unpublishAndUnstage(driver, pub);
      await deleteVolume(driver, vol.volumeId);
      expect((await driver.stop()).code).toBe(0);
      await unmountHostFs(host);
    });

    it('refuses a write past the limit with ENOSPC or EDQUOT, at the limit, and reports what was written', async () => {
      expect(vol.capacity).toBe(c.size);
      const before = await byteStats(driver, vol.volumeId, pub.targetPath);
      expect(before.total).toBeLessThanOrEqual(c.size);
      first = await fillUntilFull(path.join(pub.targetPath, 'first.bin'));
      expect(writeFailedForSpace(first.error), first.error).toBe(true);
      expect(first.written).toBeLessThanOrEqual(c.size);
      expect(Math.abs(first.written - c.limitOf(c.size, before.available))).toBeLessThanOrEqual(SLACK);
      const after = await byteStats(driver, vol.volumeId, pub.targetPath);
      expect(Math.abs(after.used - before.used - first.written)).toBeLessThanOrEqual(SLACK);
      expect(after.available).toBeLessThanOrEqual(SLACK);
    });

    it.skipIf(!c.canGrowOnline)(`grows online while published, then takes writes up to the new limit${c.canGrowOnline ? '' : NO_EXT4_ONLINE_RESIZE}`, async () => {
      const before = await byteStats(driver, vol.volumeId, pub.targetPath);
      expect(await expandPublished(driver, vol.volumeId, pub.targetPath, c.grownSize, c.nodeDriven)).toBe(c.grownSize);
      const grown = await byteStats(driver, vol.volumeId, pub.targetPath);
      expect(grown.total).toBeGreaterThan(before.total + (c.grownSize - c.size) - SLACK);
      expect(grown.total).toBeLessThanOrEqual(c.grownSize);
      const second = await fillUntilFull(path.join(pub.targetPath, 'second.bin'));
      expect(writeFailedForSpace(second.error), second.error).toBe(true);
      expect(Math.abs(second.written - c.limitOf(c.grownSize - c.size, grown.available))).toBeLessThanOrEqual(SLACK);
      const after = await byteStats(driver, vol.volumeId, pub.targetPath);
      expect(Math.abs(after.used - before.used - second.written)).toBeLessThanOrEqual(SLACK);
      const c2 = driver.clients.controller;
      const listed = await call(c2.ControllerGetVolume.bind(c2), { volume_id: vol.volumeId });
      expect(listed.volume!.capacity_bytes).toBe(String(c.grownSize));
    });

    it('refuses to shrink with OUT_OF_RANGE', async () => {
      const n = driver.clients.node;
      const c2 = driver.clients.controller;
      const shrink = { required_bytes: String(MiB), limit_bytes: String(MiB) };
      const attempt = c.nodeDriven
        ? call(n.NodeExpandVolume.bind(n), { volume_id: vol.volumeId, volume_path: pub.targetPath, capacity_range: shrink })
        : call(c2.ControllerExpandVolume.bind(c2), { volume_id: vol.volumeId, capacity_range: shrink });
      expect(await codeOf(attempt)).toBe(status.OUT_OF_RANGE);
    });
  });
}

const atQuota = (capacity: number): number => capacity;
const atOwnFsFree = (_capacity: number, available: number): number => available;

sizeLimitSuite(
  { title: 'image volumes (ext4 inside) on a plain ext4 host', hostFs: 'ext4', parameters: { sizeLimit: 'image' }, size: 64 * MiB, grownSize: 128 * MiB, nodeDriven: false, limitOf: atOwnFsFree, canGrowOnline: capSysResource },
  isRoot,
  NEEDS_ROOT,
);
sizeLimitSuite(
  {
    title: 'image volumes (xfs inside) on a plain ext4 host, node-driven expansion',
    hostFs: 'ext4',
    parameters: { sizeLimit: 'image', 'csi.storage.k8s.io/fstype': 'xfs' },
    size: 320 * MiB,
    grownSize: 640 * MiB,
    nodeDriven: true,
    limitOf: atOwnFsFree,
    canGrowOnline: true,
  },
  isRoot,
  NEEDS_ROOT,
);
sizeLimitSuite(
  { title: 'quota volumes on XFS with prjquota', hostFs: 'xfs-prjquota', parameters: { sizeLimit: 'quota' }, size: 64 * MiB, grownSize: 128 * MiB, nodeDriven: false, limitOf: atQuota, canGrowOnline: true },
  xfsQuota,
  isRoot ? (xfsQuota ? '' : NO_PRJQUOTA) : NEEDS_ROOT,
);
sizeLimitSuite(
  { title: 'quota volumes on ext4 with project quota, node-driven expansion', hostFs: 'ext4-prjquota', parameters: { sizeLimit: 'quota' }, size: 64 * MiB, grownSize: 128 * MiB, nodeDriven: true, limitOf: atQuota, canGrowOnline: true },
  ext4Quota,
  isRoot ? (ext4Quota ? '' : NO_PRJQUOTA) : NEEDS_ROOT,
);

describe.skipIf(!isRoot)(`sizeLimit quota where the state directory has no project quotas${NEEDS_ROOT}`, () => {
  let host: ImageMount;
  let driver: DriverProcess;

  beforeAll(async () => {
    const root = await scratch.dir();
    host = await mountHostFs(root, 'ext4', 256 * MiB);
    driver = await scratch.start({ root, stateDir: path.join(host.mountPoint, 'state') });
  });

  afterAll(async () => {
    expect((await driver.stop()).code).toBe(0);
    await unmountHostFs(host);
  });

  it('answers CreateVolume with RESOURCE_EXHAUSTED, saying why, and makes nothing', async () => {
    const err = await createSizedVolume(driver, 'pv-quota-unsupported', 64 * MiB, { sizeLimit: 'quota' }).catch((e: { code: number; details: string }) => e);
    expect((err as { code: number }).code).toBe(status.RESOURCE_EXHAUSTED);
    expect((err as { details: string }).details).toMatch(/not mounted with prjquota/);
    const c = driver.clients.controller;
    expect((await call(c.ListVolumes.bind(c), {})).entries).toEqual([]);
  });

  it('reports no capacity for a quota class, and the free space for the others', async () => {
    const c = driver.clients.controller;
    const quota = await call(c.GetCapacity.bind(c), { parameters: { sizeLimit: 'quota' } });
    const image = await call(c.GetCapacity.bind(c), { parameters: { sizeLimit: 'image' } });
    expect(quota.available_capacity).toBe('0');
    expect(Number(image.available_capacity)).toBeGreaterThan(100 * MiB);
  });
});

describe.skipIf(!isRoot)(`image volumes: snapshot, restore into a bigger volume, reservations${NEEDS_ROOT}`, () => {
  let host: ImageMount;
  let driver: DriverProcess;
  let root: string;

  beforeAll(async () => {
    root = await scratch.dir();
    host = await mountHostFs(root, 'ext4', 1024 * MiB);
    driver = await scratch.start({ root, stateDir: path.join(host.mountPoint, 'state') });
  });

  afterAll(async () => {
    expect((await driver.stop()).code).toBe(0);
    await unmountHostFs(host);
  });

  it('GetCapacity keeps an image volume\'s unused capacity out of what it offers', async () => {
    const c = driver.clients.controller;
    const free = async (): Promise<number> => Number((await call(c.GetCapacity.bind(c), { parameters: { sizeLimit: 'image' } })).available_capacity);
    const before = await free();
    const vol = await createSizedVolume(driver, 'pv-reserve', 256 * MiB, { sizeLimit: 'image' });
    expect(before - (await free())).toBeGreaterThan(256 * MiB - SLACK);
    await deleteVolume(driver, vol.volumeId);
    expect(Math.abs((await free()) - before)).toBeLessThanOrEqual(SLACK);
  });

  it('restores a snapshot byte for byte into a bigger image volume whose filesystem fills it', async () => {
    const source = await createSizedVolume(driver, 'pv-snap-src', 64 * MiB, { sizeLimit: 'image' });
    const pub = await stageAndPublish(driver, source.volumeId, path.join(root, 'src'));
    const hash = await writeRandomFile(path.join(pub.targetPath, 'data.bin'), 16 * MiB);
    const c = driver.clients.controller;
    const snap = (await call(c.CreateSnapshot.bind(c), { name: 'snap-image', source_volume_id: source.volumeId })).snapshot!;
    await unpublishAndUnstage(driver, pub);
    const restored = await call(c.CreateVolume.bind(c), {
      name: 'pv-restored',
      capacity_range: { required_bytes: String(128 * MiB) },
      volume_capabilities: [pub.capability],
      parameters: { sizeLimit: 'image' },
      volume_content_source: fromSnapshot(snap.snapshot_id),
    });
    expect(restored.volume!.volume_context).toMatchObject({ 'hostpath.csi.dev/kind': 'image' });
    const rpub = await stageAndPublish(driver, restored.volume!.volume_id, path.join(root, 'dst'));
    expect(await sha256File(path.join(rpub.targetPath, 'data.bin'))).toBe(hash);
    expect((await byteStats(driver, restored.volume!.volume_id, rpub.targetPath)).total).toBeGreaterThan(100 * MiB);
    await unpublishAndUnstage(driver, rpub);
    await call(c.DeleteSnapshot.bind(c), { snapshot_id: snap.snapshot_id });
    await deleteVolume(driver, restored.volume!.volume_id);
    await deleteVolume(driver, source.volumeId);
  });
});
