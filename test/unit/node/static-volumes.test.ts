import { status } from '@grpc/grpc-js';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  blockCap,
  controllerPublishRequest,
  deleteVolumeRequest,
  expectCode,
  invoke,
  makeTempDir,
  NODE_ID,
  nodePublishRequest,
  nodeUnpublishRequest,
  removeDir,
  stageRequest,
  startDriver,
  unstageRequest,
  volumeStatsRequest,
  type TestDriver,
} from '../../helpers/fakes';

let d: TestDriver;
let outside: string;
let disk: string;
const ID = 'static.media';

beforeEach(async () => {
  outside = await makeTempDir();
  disk = path.join(outside, 'disk2');
  await mkdir(path.join(disk, 'shared', 'media'), { recursive: true });
  await writeFile(path.join(disk, 'shared', 'media', 'song'), 'la');
  d = await startDriver({ 'volume-roots': `disk2=${disk}` });
});

afterEach(async () => {
  await d.cleanup();
  await removeDir(outside);
});

const attrs = (o: Record<string, string> = {}) => ({ node: NODE_ID, root: 'disk2', path: 'shared/media', ...o });
const staging = () => path.join(d.dir, 'kubelet', 'staging', 'static');
const target = () => path.join(d.dir, 'kubelet', 'pods', 'p1', 'mount');
const stage = (context: Record<string, string>, cap = stageRequest(ID, '').volume_capability) =>
  invoke(d.node.NodeStageVolume, { ...stageRequest(ID, staging(), cap!), volume_context: context });

describe('static volumes on the node', () => {
  it('stage binds the existing directory, publish binds the staging path, and a repeat of each is OK', async () => {
    await stage(attrs());
    await stage(attrs());
    await invoke(d.node.NodePublishVolume, nodePublishRequest(ID, staging(), target(), { volume_context: attrs() }));
    await invoke(d.node.NodePublishVolume, nodePublishRequest(ID, staging(), target(), { volume_context: attrs() }));
    expect(d.mounter.binds.map((b) => [b.source, b.target])).toEqual([
      [path.join(disk, 'shared', 'media'), staging()],
      [staging(), target()],
    ]);
    expect(JSON.parse(await readFile(path.join(d.layout.nodeRecordsDir, `${ID}.json`), 'utf8'))).toMatchObject({ staticDir: path.join(disk, 'shared', 'media') });
  });

  it('reports stats from the directory; unpublish and unstage leave the data and drop the node record', async () => {
    await stage(attrs());
    await invoke(d.node.NodePublishVolume, nodePublishRequest(ID, staging(), target()));
    const stats = await invoke(d.node.NodeGetVolumeStats, volumeStatsRequest(ID, target()));
    expect(stats.volume_condition?.abnormal).toBe(false);
    await invoke(d.node.NodeUnpublishVolume, nodeUnpublishRequest(ID, target()));
    await invoke(d.node.NodeUnstageVolume, unstageRequest(ID, staging()));
    expect(d.mounter.entries).toEqual([]);
    expect(await readdir(d.layout.nodeRecordsDir)).toEqual([]);
    expect(await readFile(path.join(disk, 'shared', 'media', 'song'), 'utf8')).toBe('la');
  });

  it.each([
    [attrs({ node: 'node-b' }), status.FAILED_PRECONDITION, `static volume ${ID} is on node node-b, not ${NODE_ID}`],
    [attrs({ root: 'disk9' }), status.INVALID_ARGUMENT, `static volume ${ID}: root "disk9" is not one of this node's --volume-roots`],
    [attrs({ path: '../etc' }), status.INVALID_ARGUMENT, `static volume ${ID}: volumeAttributes path "../etc" must be relative to its root, without '..'`],
    [attrs({ path: '/etc' }), status.INVALID_ARGUMENT, `static volume ${ID}: volumeAttributes path "/etc" must be relative to its root, without '..'`],
    [{ node: NODE_ID, root: 'disk2' }, status.INVALID_ARGUMENT, `static volume ${ID} needs volumeAttributes path`],
    [attrs({ path: 'shared/none' }), status.NOT_FOUND, `static volume ${ID}: ${path.join('DISK', 'shared', 'none')} does not exist on this node`],
  ])('stage refuses %j and mounts nothing', async (context, code, message) => {
    const failure = await expectCode(stage(context), code);
    expect(failure.details).toBe(message.replace('DISK', disk));
    expect(d.mounter.binds).toEqual([]);
  });

  it('stage refuses a directory that is a symlink out of the root', async () => {
    await symlink(outside, path.join(disk, 'escape'));
    const failure = await expectCode(stage(attrs({ path: 'escape' })), status.INVALID_ARGUMENT);
    expect(failure.details).toBe(`static volume ${ID}: ${path.join(disk, 'escape')} resolves outside its root ${disk}`);
    expect(d.mounter.binds).toEqual([]);
  });

  it('stage refuses a root that is missing or no longer a directory as FAILED_PRECONDITION (the node, not the PV, is wrong)', async () => {
    await removeDir(disk);
    await writeFile(disk, 'not a directory');
    const failure = await expectCode(stage(attrs()), status.FAILED_PRECONDITION);
    expect(failure.details).toBe(`static volume ${ID}: volume root disk2 (${disk}) is not a directory on this node`);
    expect(d.mounter.binds).toEqual([]);
  });

  it('stage refuses block access (a static volume is a directory)', async () => {
    await expectCode(stage(attrs(), blockCap()), status.INVALID_ARGUMENT);
    expect(d.mounter.binds).toEqual([]);
  });

  it('publish before stage is NOT_FOUND', async () => {
    const failure = await expectCode(invoke(d.node.NodePublishVolume, nodePublishRequest(ID, staging(), target())), status.NOT_FOUND);
    expect(failure.details).toBe(`static volume ${ID} is not staged on this node`);
  });
});

describe('static volumes on the controller', () => {
  it('DeleteVolume answers OK and leaves the directory', async () => {
    await invoke(d.controller.DeleteVolume, deleteVolumeRequest(ID));
    expect(await readFile(path.join(disk, 'shared', 'media', 'song'), 'utf8')).toBe('la');
  });

  it('ControllerPublishVolume answers OK for its own node and FAILED_PRECONDITION for another', async () => {
    await invoke(d.controller.ControllerPublishVolume, { ...controllerPublishRequest(ID), volume_context: attrs() });
    const failure = await expectCode(invoke(d.controller.ControllerPublishVolume, { ...controllerPublishRequest(ID, { node_id: 'node-b' }), volume_context: attrs() }), status.FAILED_PRECONDITION);
    expect(failure.details).toBe(`static volume ${ID} is on node ${NODE_ID}, not node-b`);
    expect(await readdir(d.layout.attachmentRecordsDir).catch(() => [])).toEqual([]);
  });
});
