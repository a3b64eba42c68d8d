import { status } from '@grpc/grpc-js';
import { readdir, readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, codeOf } from '../helpers/csi-client';
import { run } from '../helpers/data';
import { exists, isMountPoint, isRoot, mountCapability, NEEDS_ROOT, Scratch, type DriverProcess } from '../helpers/driver-process';

const scratch = new Scratch();
let disk = '';

afterAll(async () => {
  // The test's own tmpfs ("another disk") goes before dispose checks that nothing is left mounted.
  if (disk !== '' && (await isMountPoint(disk))) await run('umount', [disk]);
  const { leftMounts, leftDirs } = await scratch.dispose();
  expect(leftMounts).toEqual([]);
  expect(leftDirs).toEqual([]);
});

/**
 * A dir volume a class puts under a --volume-roots entry that is another filesystem (a tmpfs here): real bind
 * mounts show the directory's path inside that filesystem as their root, which the node must still know as its own.
 */
describe.skipIf(!isRoot)(`dir volume under a --volume-roots entry on another filesystem${NEEDS_ROOT}`, () => {
  let root: string;
  let driver: DriverProcess;
  let volumeId: string;
  let stagingPath: string;
  let targetPath: string;
  const params = { root: 'disk2', dirPattern: '{pvc.namespace}_{pvc.name}', 'csi.storage.k8s.io/pvc/namespace': 'team-a', 'csi.storage.k8s.io/pvc/name': 'data', dirMode: '0770', dirGid: '2000' };

  beforeAll(async () => {
    root = await scratch.dir();
    disk = path.join(root, 'disk2');
    await mkdir(disk);
    await run('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', disk]);
    await mkdir(path.join(disk, 'vols'));
    driver = await scratch.start({ root, allowedPathRoot: path.join(root, 'kubelet'), extraArgs: [`--volume-roots=disk2=${path.join(disk, 'vols')}`] });
    stagingPath = path.join(root, 'kubelet', 'staging', 'pv');
    targetPath = path.join(root, 'kubelet', 'pods', 'p1', 'mount');
  });

  afterAll(async () => {
    expect((await driver.stop()).code).toBe(0);
  });

  const dataDir = () => path.join(disk, 'vols', 'team-a_data');

  it('CreateVolume makes team-a_data under the root, 0770 and group 2000, and nothing in the state directory', async () => {
    const c = driver.clients.controller;
    const res = await call(c.CreateVolume.bind(c), { name: 'pvc-123', capacity_range: { required_bytes: String(1 << 20) }, volume_capabilities: [mountCapability('SINGLE_NODE_WRITER')], parameters: params });
    volumeId = res.volume!.volume_id;
    const s = await stat(dataDir());
    expect({ mode: s.mode & 0o7777, gid: s.gid }).toEqual({ mode: 0o770, gid: 2000 });
    expect(await readdir(path.join(driver.stateDir, 'volumes'))).toEqual([]);
  });

  it('stage and publish bind the directory; a repeat of each is recognised as already done', async () => {
    const n = driver.clients.node;
    const stage = { volume_id: volumeId, staging_target_path: stagingPath, volume_capability: mountCapability('SINGLE_NODE_WRITER') };
    const publish = { ...stage, target_path: targetPath, readonly: false };
    await call(n.NodeStageVolume.bind(n), stage);
    await call(n.NodeStageVolume.bind(n), stage);
    await call(n.NodePublishVolume.bind(n), publish);
    await call(n.NodePublishVolume.bind(n), publish);
    await writeFile(path.join(targetPath, 'f'), 'through the pod');
    expect(await readFile(path.join(dataDir(), 'f'), 'utf8')).toBe('through the pod');
  });

  it('NodeGetVolumeStats and GetVolume health read the directory under the root', async () => {
    const n = driver.clients.node;
    const res = await call(n.NodeGetVolumeStats.bind(n), { volume_id: volumeId, volume_path: targetPath });
    expect(res.volume_condition?.abnormal).toBe(false);
    expect(BigInt(res.usage.find((u) => u.unit === 'BYTES')!.used)).toBeGreaterThan(0n);
  });

  it('unpublish and unstage unmount it and keep the data; DeleteVolume removes the directory', async () => {
    const n = driver.clients.node;
    await call(n.NodeUnpublishVolume.bind(n), { volume_id: volumeId, target_path: targetPath });
    await call(n.NodeUnstageVolume.bind(n), { volume_id: volumeId, staging_target_path: stagingPath });
    expect(await isMountPoint(stagingPath)).toBe(false);
    expect(await exists(path.join(dataDir(), 'f'))).toBe(true);
    const c = driver.clients.controller;
    await call(c.DeleteVolume.bind(c), { volume_id: volumeId });
    expect(await readdir(path.join(disk, 'vols'))).toEqual([]);
    expect(await codeOf(call(n.NodeGetVolumeStats.bind(n), { volume_id: volumeId, volume_path: targetPath }))).toBe(status.NOT_FOUND);
  });
});

/** A static volume: an administrator's directory on real mounts, staged, published, unstaged, never deleted. */
describe.skipIf(!isRoot)(`static volume under a --volume-roots entry${NEEDS_ROOT}`, () => {
  let root: string;
  let driver: DriverProcess;
  let share: string;
  const id = 'static.media';
  let stagingPath: string;
  let targetPath: string;

  beforeAll(async () => {
    root = await scratch.dir();
    share = path.join(root, 'exports', 'media');
    await mkdir(share, { recursive: true });
    await writeFile(path.join(share, 'song'), 'la');
    driver = await scratch.start({ root, allowedPathRoot: path.join(root, 'kubelet'), extraArgs: [`--volume-roots=exports=${path.join(root, 'exports')}`] });
    stagingPath = path.join(root, 'kubelet', 'staging', 'static');
    targetPath = path.join(root, 'kubelet', 'pods', 'p1', 'mount');
  });

  afterAll(async () => {
    expect((await driver.stop()).code).toBe(0);
  });

  const attrs = () => ({ node: driver.nodeId, root: 'exports', path: 'media' });

  it('is staged and published from the existing directory, twice each without error', async () => {
    const n = driver.clients.node;
    const stage = { volume_id: id, staging_target_path: stagingPath, volume_capability: mountCapability('SINGLE_NODE_WRITER'), volume_context: attrs() };
    await call(n.NodeStageVolume.bind(n), stage);
    await call(n.NodeStageVolume.bind(n), stage);
    const publish = { ...stage, target_path: targetPath, readonly: false };
    await call(n.NodePublishVolume.bind(n), publish);
    await call(n.NodePublishVolume.bind(n), publish);
    expect(await readFile(path.join(targetPath, 'song'), 'utf8')).toBe('la');
    await writeFile(path.join(targetPath, 'new'), 'from the pod');
    expect(await readFile(path.join(share, 'new'), 'utf8')).toBe('from the pod');
  });

  it('is refused on another node with FAILED_PRECONDITION', async () => {
    const n = driver.clients.node;
    const other = path.join(root, 'kubelet', 'staging', 'other');
    const req = { volume_id: 'static.other', staging_target_path: other, volume_capability: mountCapability('SINGLE_NODE_WRITER'), volume_context: { ...attrs(), node: 'node-elsewhere' } };
    expect(await codeOf(call(n.NodeStageVolume.bind(n), req))).toBe(status.FAILED_PRECONDITION);
    expect(await isMountPoint(other)).toBe(false);
  });

  it('unpublish and unstage unmount it; DeleteVolume answers OK and the directory and its files stay', async () => {
    const n = driver.clients.node;
    await call(n.NodeUnpublishVolume.bind(n), { volume_id: id, target_path: targetPath });
    await call(n.NodeUnstageVolume.bind(n), { volume_id: id, staging_target_path: stagingPath });
    expect(await isMountPoint(stagingPath)).toBe(false);
    const c = driver.clients.controller;
    await call(c.DeleteVolume.bind(c), { volume_id: id });
    expect((await readdir(share)).sort()).toEqual(['new', 'song']);
  });
});
