import { status } from '@grpc/grpc-js';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createVolumeId,
  expectCode,
  invoke,
  mountCap,
  nodePublishRequest,
  nodeUnpublishRequest,
  stageRequest,
  startDriver,
  unstageRequest,
  type TestDriver,
} from '../../helpers/fakes';

let d: TestDriver;
let id: string;
let staging: string;
let target: string;

beforeEach(async () => {
  d = await startDriver();
  id = await createVolumeId(d, 'pvc-1');
  staging = path.join(d.dir, 'kubelet', 'staging', id);
  target = path.join(d.dir, 'kubelet', 'pods', 'pod-1', 'mount');
});

afterEach(async () => {
  await d.cleanup();
});

const stage = (p = staging, cap = mountCap()) => invoke(d.node.NodeStageVolume, stageRequest(id, p, cap));
const unstage = (p = staging) => invoke(d.node.NodeUnstageVolume, unstageRequest(id, p));
const publish = (t = target, o: Parameters<typeof nodePublishRequest>[3] = {}) => invoke(d.node.NodePublishVolume, nodePublishRequest(id, staging, t, o));
const unpublish = (t = target) => invoke(d.node.NodeUnpublishVolume, nodeUnpublishRequest(id, t));
const nodeRecord = async () => JSON.parse(await readFile(d.nodeDeps.nodeRecords.fileOf(id), 'utf8')) as Record<string, unknown>;

describe('NodeStageVolume', () => {
  it('bind-mounts the volume directory at the staging path and records it', async () => {
    await stage();
    expect(d.mounter.mountsAt(staging)).toMatchObject([{ root: d.layout.volumeDataDir(id) }]);
    expect((await stat(staging)).isDirectory()).toBe(true);
    expect(await nodeRecord()).toMatchObject({ id, stagingPath: staging, targets: {} });
  });

  it('adds no second mount for a repeat', async () => {
    await stage();
    await stage();
    expect(d.mounter.mountsAt(staging)).toHaveLength(1);
  });

  it('answers FAILED_PRECONDITION for a second staging path while staged at the first', async () => {
    await stage();
    await expectCode(stage(path.join(d.dir, 'kubelet', 'staging', 'other')), status.FAILED_PRECONDITION);
  });

  it('answers FAILED_PRECONDITION when something else is mounted at the staging path', async () => {
    d.mounter.mountForeign(staging);
    await expectCode(stage(), status.FAILED_PRECONDITION);
    expect(d.mounter.mountsAt(staging)).toHaveLength(1);
  });

  it('answers NOT_FOUND for an unknown volume', async () => {
    await expectCode(invoke(d.node.NodeStageVolume, stageRequest('vol-9999', staging)), status.NOT_FOUND);
  });

  it('answers INVALID_ARGUMENT for a relative staging path', async () => {
    await expectCode(stage('kubelet/staging'), status.INVALID_ARGUMENT);
  });
});

describe('NodeUnstageVolume', () => {
  it('unmounts the staging path and drops the node record', async () => {
    await stage();
    await unstage();
    expect(d.mounter.entries).toEqual([]);
    expect(await readdir(d.layout.nodeRecordsDir)).toEqual([]);
  });

  it('succeeds again when already unstaged', async () => {
    await stage();
    await unstage();
    await expect(unstage()).resolves.toEqual({});
  });

  it('refuses to unmount a foreign mount at the staging path', async () => {
    d.mounter.mountForeign(staging);
    await expectCode(unstage(), status.FAILED_PRECONDITION);
    expect(d.mounter.mountsAt(staging)).toHaveLength(1);
  });
});

describe('NodePublishVolume', () => {
  it('bind-mounts the staged volume at the target, showing the volume directory', async () => {
    await stage();
    await publish();
    expect(d.mounter.mountsAt(target)).toMatchObject([{ root: d.layout.volumeDataDir(id), options: ['rw'] }]);
    expect(d.mounter.binds.at(-1)).toMatchObject({ source: staging, target, options: { readonly: false } });
    expect(await nodeRecord()).toMatchObject({ targets: { [target]: { readonly: false, mode: 'SINGLE_NODE_WRITER' } } });
  });

  it('adds no second mount for a repeat', async () => {
    await stage();
    await publish();
    await publish();
    expect(d.mounter.mountsAt(target)).toHaveLength(1);
  });

  it('mounts read-only when readonly is set', async () => {
    await stage();
    await publish(target, { readonly: true });
    expect(d.mounter.mountsAt(target)).toMatchObject([{ options: ['ro'] }]);
  });

  it('mounts read-only for a reader-only access mode even without readonly', async () => {
    await stage();
    await publish(target, { volume_capability: mountCap('MULTI_NODE_READER_ONLY') });
    expect(d.mounter.binds.at(-1)?.options.readonly).toBe(true);
  });

  it('passes the capability mount flags to the bind', async () => {
    await stage();
    await publish(target, { volume_capability: mountCap('SINGLE_NODE_WRITER', ['noexec', 'nosuid']) });
    expect(d.mounter.binds.at(-1)?.options.flags).toEqual(['noexec', 'nosuid']);
  });

  it('answers ALREADY_EXISTS for a repeat with another readonly at the same target', async () => {
    await stage();
    await publish();
    await expectCode(publish(target, { readonly: true }), status.ALREADY_EXISTS);
    expect(d.mounter.mountsAt(target)).toHaveLength(1);
  });

  it('answers FAILED_PRECONDITION for a second target of a SINGLE_NODE_SINGLE_WRITER volume', async () => {
    const cap = mountCap('SINGLE_NODE_SINGLE_WRITER');
    await stage(staging, cap);
    await publish(target, { volume_capability: cap });
    const second = path.join(d.dir, 'kubelet', 'pods', 'pod-2', 'mount');
    await expectCode(publish(second, { volume_capability: cap }), status.FAILED_PRECONDITION);
    expect(d.mounter.mountsAt(second)).toEqual([]);
  });

  it('allows a second target for SINGLE_NODE_MULTI_WRITER', async () => {
    const cap = mountCap('SINGLE_NODE_MULTI_WRITER');
    await stage(staging, cap);
    await publish(target, { volume_capability: cap });
    const second = path.join(d.dir, 'kubelet', 'pods', 'pod-2', 'mount');
    await publish(second, { volume_capability: cap });
    expect(d.mounter.mountsAt(second)).toHaveLength(1);
  });

  it('answers FAILED_PRECONDITION when the volume is not staged, and mounts nothing', async () => {
    await expectCode(publish(), status.FAILED_PRECONDITION);
    expect(d.mounter.entries).toEqual([]);
  });

  it('answers NOT_FOUND for an unknown volume', async () => {
    await expectCode(invoke(d.node.NodePublishVolume, nodePublishRequest('vol-9999', staging, target)), status.NOT_FOUND);
  });

  it('answers INVALID_ARGUMENT without a staging path', async () => {
    await stage();
    await expectCode(invoke(d.node.NodePublishVolume, nodePublishRequest(id, '', target)), status.INVALID_ARGUMENT);
  });

  it('answers FAILED_PRECONDITION when something else is mounted at the target', async () => {
    await stage();
    d.mounter.mountForeign(target);
    await expectCode(publish(), status.FAILED_PRECONDITION);
  });
});

describe('the whole node cycle', () => {
  it('stage → publish → unpublish → unstage leaves no mounts, no target and no node record', async () => {
    await stage();
    await publish();
    await unpublish();
    await unstage();
    expect(d.mounter.entries).toEqual([]);
    await expect(stat(target)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(d.layout.nodeRecordsDir)).toEqual([]);
  });
});
