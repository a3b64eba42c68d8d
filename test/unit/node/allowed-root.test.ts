import { status } from '@grpc/grpc-js';
import { mkdir, readdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVolumeId, expectCode, invoke, mountCap, nodePublishRequest, nodeUnpublishRequest, stageRequest, startDriver, unstageRequest, type TestDriver } from '../../helpers/fakes';

let d: TestDriver;
let id: string;
let kubelet: string;
let outside: string;

beforeEach(async () => {
  d = await startDriver();
  id = await createVolumeId(d, 'pvc-1');
  kubelet = path.join(d.dir, 'kubelet');
  outside = path.join(d.dir, 'outside');
  await mkdir(path.join(kubelet, 'pods'), { recursive: true });
  await mkdir(outside);
  // A symlink planted inside kubelet's directory that leads out of it.
  await symlink(outside, path.join(kubelet, 'pods', 'escape'));
});

afterEach(async () => {
  await d.cleanup();
});

describe('--allowed-path-root', () => {
  it('NodeStageVolume with a staging path outside the allowed root is INVALID_ARGUMENT and mounts nothing', async () => {
    await expectCode(invoke(d.node.NodeStageVolume, stageRequest(id, path.join(outside, 'staging'), mountCap())), status.INVALID_ARGUMENT);
    expect(d.mounter.entries).toEqual([]);
    expect(await readdir(outside)).toEqual([]);
  });

  it('NodeStageVolume through a symlink that leads out of the allowed root is INVALID_ARGUMENT and creates nothing', async () => {
    await expectCode(invoke(d.node.NodeStageVolume, stageRequest(id, path.join(kubelet, 'pods', 'escape', 'staging'), mountCap())), status.INVALID_ARGUMENT);
    expect(d.mounter.entries).toEqual([]);
    expect(await readdir(outside)).toEqual([]);
  });

  it('NodePublishVolume through a symlink that leads out of the allowed root is INVALID_ARGUMENT and creates nothing', async () => {
    const staging = path.join(kubelet, 'staging', id);
    await invoke(d.node.NodeStageVolume, stageRequest(id, staging, mountCap()));
    const target = path.join(kubelet, 'pods', 'escape', 'pod-1', 'mount');
    await expectCode(invoke(d.node.NodePublishVolume, nodePublishRequest(id, staging, target)), status.INVALID_ARGUMENT);
    expect(d.mounter.entries.map((m) => m.mountPoint)).toEqual([staging]);
    expect(await readdir(outside)).toEqual([]);
  });

  it('NodeUnpublishVolume through a symlink that leads out of the allowed root is INVALID_ARGUMENT and removes nothing', async () => {
    await mkdir(path.join(outside, 'empty-dir'));
    await expectCode(invoke(d.node.NodeUnpublishVolume, nodeUnpublishRequest(id, path.join(kubelet, 'pods', 'escape', 'empty-dir'))), status.INVALID_ARGUMENT);
    expect(await readdir(outside)).toEqual(['empty-dir']);
  });

  it('NodeUnstageVolume with a staging path outside the allowed root is INVALID_ARGUMENT', async () => {
    await expectCode(invoke(d.node.NodeUnstageVolume, unstageRequest(id, path.join(outside, 'staging'))), status.INVALID_ARGUMENT);
  });

  it('NodeGetVolumeStats with a volume path outside the allowed root is NOT_FOUND (the spec code for a path that is not the volume)', async () => {
    await expectCode(invoke(d.node.NodeGetVolumeStats, { volume_id: id, volume_path: outside, staging_target_path: '' }), status.NOT_FOUND);
  });

  it('a dangling symlink on the way is refused like an escape', async () => {
    await symlink(path.join(d.dir, 'gone'), path.join(kubelet, 'pods', 'dangling'));
    await expectCode(invoke(d.node.NodeStageVolume, stageRequest(id, path.join(kubelet, 'pods', 'dangling', 'staging'), mountCap())), status.INVALID_ARGUMENT);
    expect(d.mounter.entries).toEqual([]);
  });

  it('a repeated NodePublishVolume naming a staging path through an escaping symlink is INVALID_ARGUMENT, not OK (found by the fuzzer)', async () => {
    const staging = path.join(kubelet, 'staging', id);
    const target = path.join(kubelet, 'pods', 'pod-1', 'mount');
    await invoke(d.node.NodeStageVolume, stageRequest(id, staging, mountCap()));
    await invoke(d.node.NodePublishVolume, nodePublishRequest(id, staging, target));
    const escaping = path.join(kubelet, 'pods', 'escape', 'staging');
    await expectCode(invoke(d.node.NodePublishVolume, nodePublishRequest(id, escaping, target)), status.INVALID_ARGUMENT);
  });
});
