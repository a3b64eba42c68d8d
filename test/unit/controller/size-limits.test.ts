import { status } from '@grpc/grpc-js';
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROJECT_ID_BASE } from '../../../src/kinds/quota/project-ids';
import {
  createVolumeRequest,
  expandVolumeRequest,
  expectCode,
  getCapacityRequest,
  GiB,
  invoke,
  MiB,
  mountCap,
  range,
  startDriver,
  type TestDriver,
} from '../../helpers/fakes';

let d: TestDriver;

beforeEach(async () => {
  d = await startDriver();
});

afterEach(async () => {
  await d.cleanup();
});

const create = (name: string, parameters: Record<string, string>, o: Parameters<typeof createVolumeRequest>[1] = {}) =>
  invoke(d.controller.CreateVolume, createVolumeRequest(name, { capacity_range: range(64n * MiB), parameters, ...o }));
const recordOf = async (id: string) => JSON.parse(await readFile(d.layout.volumeRecordFile(id), 'utf8')) as Record<string, unknown>;

describe('CreateVolume with sizeLimit', () => {
  it('makes a plain directory without the parameter, and says so in the volume context', async () => {
    const res = await create('pv', {});
    expect(res.volume!.volume_context).toEqual({ 'hostpath.csi.dev/kind': 'dir' });
  });

  it('refuses an unknown sizeLimit with INVALID_ARGUMENT before anything is written', async () => {
    await expectCode(create('pv', { sizeLimit: 'strict' }), status.INVALID_ARGUMENT);
    expect(d.controllerDeps.catalog.volumes.size).toBe(0);
  });

  it('gives each quota volume its own project ID, limited to its capacity, and records it', async () => {
    const a = (await create('a', { sizeLimit: 'quota' })).volume!.volume_id!;
    const b = (await create('b', { sizeLimit: 'quota' })).volume!.volume_id!;
    const [ra, rb] = [await recordOf(a), await recordOf(b)];
    expect([ra['kind'], ra['projectId'], rb['projectId']]).toEqual(['quota', PROJECT_ID_BASE, PROJECT_ID_BASE + 1]);
    expect(d.quotas.limits.get(PROJECT_ID_BASE)).toBe(64n * MiB);
    expect(d.quotas.assigned.get(d.layout.volumeDataDir(a))).toBe(PROJECT_ID_BASE);
  });

  it('hands out distinct project IDs to creates that run at the same time', async () => {
    const ids = await Promise.all(['a', 'b', 'c', 'd'].map(async (n) => (await create(n, { sizeLimit: 'quota' })).volume!.volume_id!));
    const projects = await Promise.all(ids.map(async (id) => (await recordOf(id))['projectId']));
    expect(new Set(projects).size).toBe(4);
  });

  it('removes the limit and gives the project ID back on delete', async () => {
    const id = (await create('a', { sizeLimit: 'quota' })).volume!.volume_id!;
    await invoke(d.controller.DeleteVolume, { volume_id: id, secrets: {} });
    expect(d.quotas.limits.size).toBe(0);
    expect(d.quota.projectIds.has(PROJECT_ID_BASE)).toBe(false);
  });

  it('answers RESOURCE_EXHAUSTED, saying why, where the node has no project quotas', async () => {
    d.quota.setSupport({ supported: false, reason: 'the state directory is on tmpfs' });
    const err = await expectCode(create('a', { sizeLimit: 'quota' }), status.RESOURCE_EXHAUSTED);
    expect(err.details).toContain('the state directory is on tmpfs');
    expect(d.controllerDeps.catalog.volumes.size).toBe(0);
  });

  it('makes an image volume with ext4 by default, or the capability\'s fs_type', async () => {
    const a = (await create('a', { sizeLimit: 'image' })).volume!.volume_id!;
    const xfsCap = { ...mountCap(), mount: { fs_type: 'xfs', mount_flags: [], volume_mount_group: '' } };
    const b = (await create('b', { sizeLimit: 'image' }, { capacity_range: range(GiB), volume_capabilities: [xfsCap] })).volume!.volume_id!;
    expect([(await recordOf(a))['fsType'], (await recordOf(b))['fsType']]).toEqual(['ext4', 'xfs']);
    expect(d.filesystems.made.map((m) => m.fsType)).toEqual(['ext4', 'xfs']);
  });

  it('refuses an image filesystem it cannot make with INVALID_ARGUMENT', async () => {
    await expectCode(create('a', { sizeLimit: 'image', 'csi.storage.k8s.io/fstype': 'btrfs' }), status.INVALID_ARGUMENT);
  });

  it('makes an xfs image at least 300 MiB, and refuses a limit_bytes below that with OUT_OF_RANGE', async () => {
    const params = { sizeLimit: 'image', 'csi.storage.k8s.io/fstype': 'xfs' };
    expect((await create('a', params)).volume!.capacity_bytes).toBe(String(300n * MiB));
    await expectCode(create('b', params, { capacity_range: range(64n * MiB, 64n * MiB) }), status.OUT_OF_RANGE);
  });

  it('restores a directory snapshot into a quota volume, but not into an image (INVALID_ARGUMENT)', async () => {
    const src = (await create('src', {})).volume!.volume_id!;
    const snap = await invoke(d.controller.CreateSnapshot, { name: 's', source_volume_id: src, secrets: {}, parameters: {}, accessibility_requirements: null });
    const source = { type: 'snapshot' as const, snapshot: { snapshot_id: snap.snapshot!.snapshot_id! } };
    const quota = await create('q', { sizeLimit: 'quota' }, { volume_content_source: source });
    expect(quota.volume!.volume_context).toEqual({ 'hostpath.csi.dev/kind': 'quota' });
    await expectCode(create('i', { sizeLimit: 'image' }, { volume_content_source: source }), status.INVALID_ARGUMENT);
  });
});

describe('ControllerExpandVolume per kind', () => {
  it('raises a quota volume\'s limit', async () => {
    const id = (await create('a', { sizeLimit: 'quota' })).volume!.volume_id!;
    const res = await invoke(d.controller.ControllerExpandVolume, expandVolumeRequest(id, range(128n * MiB)));
    expect(res).toEqual({ capacity_bytes: String(128n * MiB), node_expansion_required: false });
    expect(d.quotas.limits.get(PROJECT_ID_BASE)).toBe(128n * MiB);
  });

  it('grows an image and asks the node to grow its filesystem', async () => {
    const id = (await create('a', { sizeLimit: 'image' })).volume!.volume_id!;
    const res = await invoke(d.controller.ControllerExpandVolume, expandVolumeRequest(id, range(128n * MiB)));
    expect(res).toEqual({ capacity_bytes: String(128n * MiB), node_expansion_required: true });
  });

  it('refuses a limit_bytes below the current size with OUT_OF_RANGE', async () => {
    const id = (await create('a', { sizeLimit: 'quota' })).volume!.volume_id!;
    await expectCode(invoke(d.controller.ControllerExpandVolume, expandVolumeRequest(id, range(MiB, MiB))), status.OUT_OF_RANGE);
  });
});

describe('GetCapacity with reserving kinds', () => {
  it('leaves out the unused part of quota volumes\' limits', async () => {
    d.statFs.stats.availableBytes = 10n * GiB;
    d.statFs.stats.totalBytes = 10n * GiB;
    await create('a', { sizeLimit: 'quota' }, { capacity_range: range(GiB) });
    const res = await invoke(d.controller.GetCapacity, getCapacityRequest({ parameters: { sizeLimit: 'quota' } }));
    // The fake statfs says the project's directory is a 10 GiB filesystem with 10 GiB free: nothing used yet.
    expect(res.available_capacity).toBe(String(9n * GiB));
  });

  it('reports 0 for a quota class where the node has no project quotas', async () => {
    d.quota.setSupport({ supported: false, reason: 'no prjquota' });
    const res = await invoke(d.controller.GetCapacity, getCapacityRequest({ parameters: { sizeLimit: 'quota' } }));
    expect(res.available_capacity).toBe('0');
  });

  it('refuses an unknown sizeLimit with INVALID_ARGUMENT', async () => {
    await expectCode(invoke(d.controller.GetCapacity, getCapacityRequest({ parameters: { sizeLimit: 'x' } })), status.INVALID_ARGUMENT);
  });
});

describe('--controller-expansion=false', () => {
  it('does not advertise EXPAND_VOLUME and answers ControllerExpandVolume UNIMPLEMENTED', async () => {
    const n = await startDriver({ 'controller-expansion': 'false' });
    try {
      const caps = await invoke(n.controller.ControllerGetCapabilities, {});
      expect(caps.capabilities!.map((c) => c.rpc!.type)).not.toContain('EXPAND_VOLUME');
      const node = await invoke(n.node.NodeGetCapabilities, {});
      expect(node.capabilities!.map((c) => c.rpc!.type)).toContain('EXPAND_VOLUME');
      await expectCode(invoke(n.controller.ControllerExpandVolume, expandVolumeRequest('vol-1', range(MiB))), status.UNIMPLEMENTED);
    } finally {
      await n.cleanup();
    }
  });
});
