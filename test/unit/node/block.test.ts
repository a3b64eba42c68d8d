import { status } from '@grpc/grpc-js';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BLOCK_IMAGE } from '../../../src/volumes/layout';
import {
  blockCap,
  createVolumeRequest,
  expectCode,
  invoke,
  MiB,
  nodePublishRequest,
  nodeUnpublishRequest,
  range,
  stageRequest,
  startDriver,
  unstageRequest,
  type TestDriver,
} from '../../helpers/fakes';

let d: TestDriver;
let id: string;
let image: string;
let staging: string;
let target: string;

beforeEach(async () => {
  d = await startDriver();
  const res = await invoke(d.controller.CreateVolume, createVolumeRequest('pvc-blk', { volume_capabilities: [blockCap()], capacity_range: range(8n * MiB) }));
  id = res.volume!.volume_id!;
  image = path.join(d.layout.volumeDataDir(id), BLOCK_IMAGE);
  staging = path.join(d.dir, 'kubelet', 'staging', id);
  target = path.join(d.dir, 'kubelet', 'pods', 'pod-1', 'dev', id);
});

afterEach(async () => {
  await d.cleanup();
});

const stage = () => invoke(d.node.NodeStageVolume, stageRequest(id, staging, blockCap()));
const unstage = () => invoke(d.node.NodeUnstageVolume, unstageRequest(id, staging));
const publish = () => invoke(d.node.NodePublishVolume, nodePublishRequest(id, staging, target, { volume_capability: blockCap() }));
const unpublish = () => invoke(d.node.NodeUnpublishVolume, nodeUnpublishRequest(id, target));

describe('block volumes on the node', () => {
  it('stage attaches one loop device to the image, and a repeat reuses it', async () => {
    await stage();
    await stage();
    expect([...d.loops.attached.values()].map((l) => l.file)).toEqual([image]);
    expect(d.nodeDeps.nodeRecords.get(id)).toMatchObject({ stagingPath: staging, loopDevice: '/dev/loop0' });
  });

  it('publish binds the loop device at a file target', async () => {
    await stage();
    await publish();
    expect(d.mounter.binds.at(-1)).toMatchObject({ source: '/dev/loop0', target });
    expect((await stat(target)).isFile()).toBe(true);
  });

  it('a read-only publish binds its own read-only loop device, which unpublish detaches', async () => {
    await stage();
    await invoke(d.node.NodePublishVolume, nodePublishRequest(id, staging, target, { volume_capability: blockCap(), readonly: true }));
    const readOnly = [...d.loops.attached.values()].filter((l) => l.readOnly);
    expect(readOnly).toMatchObject([{ file: image }]);
    expect(d.mounter.binds.at(-1)).toMatchObject({ source: readOnly[0]!.device, options: { readonly: true } });
    await unpublish();
    expect([...d.loops.attached.values()]).toMatchObject([{ device: '/dev/loop0', readOnly: false }]);
  });

  it('publish before stage answers FAILED_PRECONDITION', async () => {
    await expectCode(publish(), status.FAILED_PRECONDITION);
    expect(d.mounter.entries).toEqual([]);
  });

  it('unstage while still published answers FAILED_PRECONDITION and keeps the loop device', async () => {
    await stage();
    await publish();
    await expectCode(unstage(), status.FAILED_PRECONDITION);
    expect(d.loops.attached.size).toBe(1);
  });

  it('unpublish then unstage removes the target, detaches the loop device and drops the node record', async () => {
    await stage();
    await publish();
    await unpublish();
    await unstage();
    expect(d.mounter.entries).toEqual([]);
    expect(d.loops.attached.size).toBe(0);
    await expect(stat(target)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(d.nodeDeps.nodeRecords.get(id)).toBeUndefined();
  });

  it('stage with a mount capability answers INVALID_ARGUMENT', async () => {
    await expectCode(invoke(d.node.NodeStageVolume, stageRequest(id, staging)), status.INVALID_ARGUMENT);
  });

  it('a read-only loop device left by a crash between attach and bind is detached by the retried publish', async () => {
    await stage();
    await d.loops.attach(image, { readOnly: true });
    await invoke(d.node.NodePublishVolume, nodePublishRequest(id, staging, target, { volume_capability: blockCap(), readonly: true }));
    const readOnly = [...d.loops.attached.values()].filter((l) => l.readOnly);
    expect(readOnly).toHaveLength(1);
    expect(d.mounter.binds.at(-1)).toMatchObject({ source: readOnly[0]!.device });
  });

  it('a retried publish that finds its mount in place but unrecorded (crash before the record) records the target', async () => {
    await stage();
    await d.mounter.bind('/dev/loop0', target, { readonly: false, flags: [] });
    await publish();
    expect(d.nodeDeps.nodeRecords.get(id)?.targets).toEqual({ [target]: { readonly: false, mode: 'SINGLE_NODE_WRITER', loopDevice: null } });
    await expectCode(unstage(), status.FAILED_PRECONDITION);
  });
});

