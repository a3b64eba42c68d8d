import { status } from '@grpc/grpc-js';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVolumeId, expectCode, invoke, nodePublishRequest, nodeUnpublishRequest, stageRequest, startDriver, type TestDriver } from '../../helpers/fakes';

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

async function stageAndPublish(): Promise<void> {
  await invoke(d.node.NodeStageVolume, stageRequest(id, staging));
  await invoke(d.node.NodePublishVolume, nodePublishRequest(id, staging, target));
}

const unpublish = (volumeId = id, t = target) => invoke(d.node.NodeUnpublishVolume, nodeUnpublishRequest(volumeId, t));
const exists = (p: string) => stat(p).then(() => true, () => false);

describe('NodeUnpublishVolume', () => {
  it('unmounts the target, removes the target dir and forgets the target', async () => {
    await stageAndPublish();
    await unpublish();
    expect(d.mounter.mountsAt(target)).toEqual([]);
    expect(d.mounter.mountsAt(staging)).toHaveLength(1);
    expect(await exists(target)).toBe(false);
    expect(d.nodeDeps.nodeRecords.get(id)?.targets).toEqual({});
  });

  it('succeeds again when already unpublished', async () => {
    await stageAndPublish();
    await unpublish();
    await expect(unpublish()).resolves.toEqual({});
  });

  it('succeeds for a target that never existed', async () => {
    await expect(unpublish(id, path.join(d.dir, 'kubelet', 'nowhere'))).resolves.toEqual({});
  });

  it('succeeds for an unknown volume with no mount and removes its empty target dir (state loss must not wedge pod deletion)', async () => {
    await mkdir(target, { recursive: true });
    await expect(unpublish('vol-lost')).resolves.toEqual({});
    expect(await exists(target)).toBe(false);
  });

  it('unmounts our mount at the target even when the node record is lost', async () => {
    await stageAndPublish();
    await d.nodeDeps.nodeRecords.delete(id);
    await unpublish();
    expect(d.mounter.mountsAt(target)).toEqual([]);
    expect(await exists(target)).toBe(false);
  });

  it('refuses to unmount a foreign mount at the target and leaves it mounted', async () => {
    await mkdir(target, { recursive: true });
    d.mounter.mountForeign(target);
    await expectCode(unpublish(), status.FAILED_PRECONDITION);
    expect(d.mounter.mountsAt(target)).toHaveLength(1);
    expect(await exists(target)).toBe(true);
  });

  it('refuses to unmount another volume mounted at the target', async () => {
    const other = await createVolumeId(d, 'pvc-2');
    await stageAndPublish();
    await expectCode(unpublish(other), status.FAILED_PRECONDITION);
    expect(d.mounter.mountsAt(target)).toHaveLength(1);
  });

  it('leaves a target that is a non-empty dir after unmount in place, with FAILED_PRECONDITION', async () => {
    await stageAndPublish();
    // Files written into the target directory itself (under the mount) are still there after unmounting.
    await writeFile(path.join(target, 'stray'), 'data');
    await expectCode(unpublish(), status.FAILED_PRECONDITION);
    expect(d.mounter.mountsAt(target)).toEqual([]);
    expect(await readdir(target)).toEqual(['stray']);
  });

  it('removes an empty file left at the target', async () => {
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, '');
    await unpublish();
    expect(await exists(target)).toBe(false);
  });

  it('answers INVALID_ARGUMENT for a relative target path', async () => {
    await expectCode(unpublish(id, 'pods/x'), status.INVALID_ARGUMENT);
  });
});
