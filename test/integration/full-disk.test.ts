import { status, type ServiceError } from '@grpc/grpc-js';
import { mkdir, open, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VolumeCapability } from '../../src/generated/csi/v1/VolumeCapability';
import { call } from '../helpers/csi-client';
import { blockCapability, DataScratch, loopsUnder, MiB, run, sha256File, type Published } from '../helpers/data';
import { isRoot, mountCapability, mountPointsUnder, NEEDS_ROOT, type DriverProcess } from '../helpers/driver-process';

/**
 * Issue 13, defect 1: the state directory on a full filesystem (a 64 MiB tmpfs made for the test). Every call that
 * needs space answers RESOURCE_EXHAUSTED naming the filesystem and leaves nothing behind; the calls that free space
 * succeed; nothing acknowledged is lost; once space returns everything works without a restart.
 */
const scratch = new DataScratch();
let root = '';
let stateDir = '';

afterAll(async () => {
  // dispose unmounts everything under the temp dirs, the tmpfs included, even after a failure.
  const { leftMounts, leftDirs, leftLoops } = await scratch.disposeAll();
  expect(leftLoops).toEqual([]);
  expect(leftMounts.filter((m) => m !== stateDir)).toEqual([]);
  expect(leftDirs).toEqual([]);
});

const IMAGE = { sizeLimit: 'image' };
const NODE = 'integration-node';

interface Failure {
  code: number;
  details: string;
}

async function failure(p: Promise<unknown>): Promise<Failure> {
  try {
    await p;
  } catch (err) {
    return { code: (err as ServiceError).code, details: (err as ServiceError).details };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Writes until the filesystem says ENOSPC: big chunks, then pages, so not one page is left. */
async function fill(file: string): Promise<void> {
  const h = await open(file, 'a');
  try {
    for (const size of [4 * MiB, 64 * 1024, 4096, 512]) {
      const chunk = Buffer.alloc(size, 0x5a);
      for (;;) {
        const ok = await h.write(chunk).then(
          () => true,
          (err: NodeJS.ErrnoException) => {
            if (err.code !== 'ENOSPC') throw err;
            return false;
          },
        );
        if (!ok) break;
      }
    }
  } finally {
    await h.close().catch(() => undefined);
  }
}

describe.skipIf(!isRoot)(`state directory on a full filesystem (issue 13, defect 1)${NEEDS_ROOT}`, () => {
  let driver: DriverProcess;
  const v: Record<string, string> = {};
  const pub: Record<string, Published> = {};
  let snapId = '';
  let doomedSnapId = '';
  let dataSum = '';
  const filler = (): string => path.join(stateDir, 'filler');

  const c = () => driver.clients.controller;
  const n = () => driver.clients.node;
  const create = async (name: string, cap: VolumeCapability, bytes: number, parameters: Record<string, string> = {}) =>
    (await call(c().CreateVolume.bind(c()), { name, capacity_range: { required_bytes: String(bytes) }, volume_capabilities: [cap], parameters })).volume!.volume_id;
  const stageReq = (id: string, cap: VolumeCapability) => ({ volume_id: id, staging_target_path: path.join(root, 'staging', id), volume_capability: cap });
  async function stagePublish(id: string, cap: VolumeCapability, block: boolean): Promise<Published> {
    const p: Published = { volumeId: id, stagingPath: path.join(root, 'staging', id), targetPath: path.join(root, 'pods', id, block ? 'dev' : 'mount'), capability: cap };
    await call(n().NodeStageVolume.bind(n()), stageReq(id, cap));
    await call(n().NodePublishVolume.bind(n()), { volume_id: id, staging_target_path: p.stagingPath, target_path: p.targetPath, volume_capability: cap, readonly: false });
    return p;
  }
  const unpublishUnstage = async (p: Published) => {
    await call(n().NodeUnpublishVolume.bind(n()), { volume_id: p.volumeId, target_path: p.targetPath });
    await call(n().NodeUnstageVolume.bind(n()), { volume_id: p.volumeId, staging_target_path: p.stagingPath });
  };
  const start = () => scratch.start({ root, stateDir, nodeId: NODE, extraArgs: ['--mutable-parameters=tier'] });

  /** What a failed call must not change: objects, records, loop devices, mounts. */
  async function footprint(): Promise<string> {
    const ls = (d: string) => readdir(path.join(stateDir, d)).then((x) => x.sort().join(','), () => '-');
    const parts = [await ls('volumes'), await ls('snapshots'), await ls('records/volumes'), await ls('records/snapshots'), await ls('records/attachments'), await ls('records/node')];
    parts.push((await loopsUnder([root])).map((l) => l.file).sort().join(','));
    parts.push((await mountPointsUnder(root)).sort().join(','));
    return parts.join('\n');
  }

  beforeAll(async () => {
    root = await scratch.dir();
    stateDir = path.join(root, 'state');
    await mkdir(stateDir);
    await run('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0700', 'tmpfs', stateDir]);
    driver = await start();
    const mount = mountCapability('SINGLE_NODE_WRITER');
    v.dir = await create('dir', mount, 16 * MiB);
    v.block = await create('block', blockCapability(), 8 * MiB);
    v.image = await create('image', mount, 24 * MiB, IMAGE);
    v.dir2 = await create('dir2', mount, 16 * MiB);
    v.block2 = await create('block2', blockCapability(), 8 * MiB);
    v.image2 = await create('image2', mount, 16 * MiB, IMAGE);
    v.doomed = await create('doomed', mount, 16 * MiB);
    pub.dir = await stagePublish(v.dir, mount, false);
    pub.block = await stagePublish(v.block, blockCapability(), true);
    pub.image = await stagePublish(v.image, mount, false);
    await writeFile(path.join(pub.dir.targetPath, 'acknowledged.bin'), Buffer.alloc(MiB, 7), { flush: true });
    dataSum = await sha256File(path.join(pub.dir.targetPath, 'acknowledged.bin'));
    await writeFile(path.join(stateDir, 'volumes', v.doomed, 'big.bin'), Buffer.alloc(4 * MiB, 1));
    snapId = (await call(c().CreateSnapshot.bind(c()), { name: 'snap', source_volume_id: v.dir })).snapshot!.snapshot_id;
    doomedSnapId = (await call(c().CreateSnapshot.bind(c()), { name: 'doomed-snap', source_volume_id: v.dir })).snapshot!.snapshot_id;
    await call(c().ControllerPublishVolume.bind(c()), { volume_id: v.block, node_id: NODE, volume_capability: blockCapability(), readonly: false });
    await fill(filler());
  }, 120_000);

  afterAll(async () => {
    if (driver) await driver.stop();
  });

  it('answers RESOURCE_EXHAUSTED naming the filesystem to every call that needs space, and leaves nothing behind', async () => {
    const mount = mountCapability('SINGLE_NODE_WRITER');
    const calls: Record<string, () => Promise<unknown>> = {
      'CreateVolume dir': () => create('full-dir', mount, MiB),
      'CreateVolume block': () => create('full-block', blockCapability(), MiB),
      'CreateVolume image': () => create('full-image', mount, 16 * MiB, IMAGE),
      'CreateVolume clone': () => call(c().CreateVolume.bind(c()), { name: 'full-clone', volume_capabilities: [mount], volume_content_source: { volume: { volume_id: v.dir } } }),
      'CreateVolume restore': () => call(c().CreateVolume.bind(c()), { name: 'full-restore', volume_capabilities: [mount], volume_content_source: { snapshot: { snapshot_id: snapId } } }),
      CreateSnapshot: () => call(c().CreateSnapshot.bind(c()), { name: 'full-snap', source_volume_id: v.dir }),
      'ControllerExpandVolume dir': () => call(c().ControllerExpandVolume.bind(c()), { volume_id: v.dir2, capacity_range: { required_bytes: String(32 * MiB) } }),
      'ControllerExpandVolume block': () => call(c().ControllerExpandVolume.bind(c()), { volume_id: v.block2, capacity_range: { required_bytes: String(16 * MiB) } }),
      'ControllerExpandVolume image': () => call(c().ControllerExpandVolume.bind(c()), { volume_id: v.image2, capacity_range: { required_bytes: String(32 * MiB) } }),
      ControllerModifyVolume: () => call(c().ControllerModifyVolume.bind(c()), { volume_id: v.dir, mutable_parameters: { tier: 'gold' } }),
      ControllerPublishVolume: () => call(c().ControllerPublishVolume.bind(c()), { volume_id: v.dir2, node_id: NODE, volume_capability: mount, readonly: false }),
      'NodeStageVolume dir': () => call(n().NodeStageVolume.bind(n()), stageReq(v.dir2, mount)),
      'NodeStageVolume block': () => call(n().NodeStageVolume.bind(n()), stageReq(v.block2, blockCapability())),
      'NodeStageVolume image': () => call(n().NodeStageVolume.bind(n()), stageReq(v.image2, mount)),
      'NodePublishVolume image': () =>
        call(n().NodePublishVolume.bind(n()), { volume_id: v.image, staging_target_path: pub.image.stagingPath, target_path: path.join(root, 'pods', 'second', 'mount'), volume_capability: mount, readonly: false }),
      'NodePublishVolume block': () =>
        call(n().NodePublishVolume.bind(n()), { volume_id: v.block, staging_target_path: pub.block.stagingPath, target_path: path.join(root, 'pods', 'second', 'dev'), volume_capability: blockCapability(), readonly: false }),
    };
    const before = await footprint();
    const wrong: string[] = [];
    for (const [name, send] of Object.entries(calls)) {
      const f = await failure(send());
      if (f.code !== status.RESOURCE_EXHAUSTED || !f.details.includes(stateDir) || !/no space left/.test(f.details)) wrong.push(`${name}: ${f.code} ${f.details}`);
    }
    expect(wrong).toEqual([]);
    expect(await footprint()).toBe(before);
  });

  it('unpublishes, unstages and deletes on the full filesystem', async () => {
    await unpublishUnstage(pub.block);
    await unpublishUnstage(pub.image);
    await call(c().ControllerUnpublishVolume.bind(c()), { volume_id: v.block, node_id: NODE });
    await call(c().DeleteSnapshot.bind(c()), { snapshot_id: doomedSnapId });
    await call(c().DeleteVolume.bind(c()), { volume_id: v.doomed });
    expect(await loopsUnder([root])).toEqual([]);
    expect((await readdir(path.join(stateDir, 'volumes'))).sort()).toEqual(Object.entries(v).filter(([k]) => k !== 'doomed').map(([, id]) => id).sort());
    expect(await readdir(path.join(stateDir, 'snapshots'))).toEqual([snapId]);
    expect(await readdir(path.join(stateDir, 'records', 'attachments'))).toEqual([]);
  });

  it('has lost nothing acknowledged', async () => {
    expect(await sha256File(path.join(pub.dir.targetPath, 'acknowledged.bin'))).toBe(dataSum);
    const listed = await call(c().ListVolumes.bind(c()), {});
    expect(listed.entries.map((e) => e.volume!.volume_id).sort()).toEqual(Object.entries(v).filter(([k]) => k !== 'doomed').map(([, id]) => id).sort());
    const snaps = await call(c().ListSnapshots.bind(c()), {});
    expect(snaps.entries.map((e) => e.snapshot!.snapshot_id)).toEqual([snapId]);
  });

  it('works again without a restart once space returns', async () => {
    await rm(filler());
    const mount = mountCapability('SINGLE_NODE_WRITER');
    await create('after-dir', mount, MiB);
    await create('after-block', blockCapability(), MiB);
    await create('after-image', mount, 16 * MiB, IMAGE);
    await call(c().CreateVolume.bind(c()), { name: 'after-restore', volume_capabilities: [mount], volume_content_source: { snapshot: { snapshot_id: snapId } } });
    await call(c().CreateSnapshot.bind(c()), { name: 'after-snap', source_volume_id: v.dir });
    await call(c().ControllerExpandVolume.bind(c()), { volume_id: v.dir2, capacity_range: { required_bytes: String(32 * MiB) } });
    await call(c().ControllerModifyVolume.bind(c()), { volume_id: v.dir, mutable_parameters: { tier: 'gold' } });
    pub.image2 = await stagePublish(v.image2, mount, false);
    await unpublishUnstage(pub.image2);
    expect(await readdir(stateDir)).toContain('space-reserve.all');
  });

  it('keeps everything across a restart, and tears down cleanly', async () => {
    expect((await driver.stop()).code).toBe(0);
    driver = await start();
    expect(await sha256File(path.join(pub.dir.targetPath, 'acknowledged.bin'))).toBe(dataSum);
    const listed = await call(c().ListVolumes.bind(c()), {});
    expect(listed.entries).toHaveLength(Object.keys(v).length - 1 + 4);
    await unpublishUnstage(pub.dir);
    for (const e of listed.entries) await call(c().DeleteVolume.bind(c()), { volume_id: e.volume!.volume_id }).catch(() => undefined);
    expect(await mountPointsUnder(root)).toEqual([stateDir]);
    expect(await loopsUnder([root])).toEqual([]);
  });
});
