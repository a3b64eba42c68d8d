import { status } from '@grpc/grpc-js';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BLOCK_IMAGE } from '../../../src/volumes/layout';
import {
  blockCap,
  controllerPublishRequest,
  createVolumeId,
  createVolumeRequest,
  deleteVolumeRequest,
  expectCode,
  GiB,
  invoke,
  MiB,
  mountCap,
  NODE_ID,
  range,
  startDriver,
  topologyOf,
  type TestDriver,
} from '../../helpers/fakes';

let d: TestDriver;

beforeEach(async () => {
  d = await startDriver({ 'max-volume-size': '10Gi', 'mutable-parameters': 'iops' });
});

afterEach(async () => {
  await d.cleanup();
});

const create = (name: string, o: Parameters<typeof createVolumeRequest>[1] = {}) => invoke(d.controller.CreateVolume, createVolumeRequest(name, o));

describe('CreateVolume', () => {
  it('answers exactly required_bytes as capacity, with this node as topology', async () => {
    const res = await create('pvc-1', { capacity_range: range(123_456_789n) });
    expect(res.volume).toMatchObject({ capacity_bytes: '123456789', accessible_topology: [topologyOf(NODE_ID)] });
  });

  it('gives the default size when no range is asked for', async () => {
    const res = await create('pvc-1');
    expect(res.volume?.capacity_bytes).toBe(String(GiB));
  });

  it('creates the volume directory and a ready record on disk', async () => {
    const id = await createVolumeId(d, 'pvc-1', MiB);
    expect((await stat(d.layout.volumeDataDir(id))).isDirectory()).toBe(true);
    const record = JSON.parse(await readFile(d.layout.volumeRecordFile(id), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ id, name: 'pvc-1', capacityBytes: String(MiB), phase: 'ready', nodeId: NODE_ID });
  });

  it('answers the same volume for a repeat with the same name and size', async () => {
    const first = await createVolumeId(d, 'pvc-1', MiB);
    const second = await createVolumeId(d, 'pvc-1', MiB);
    expect(second).toBe(first);
    expect(await readdir(d.layout.volumesDir)).toEqual([first]);
  });

  it('answers ALREADY_EXISTS for the same name with a larger size', async () => {
    await createVolumeId(d, 'pvc-1', MiB);
    await expectCode(create('pvc-1', { capacity_range: range(2n * MiB) }), status.ALREADY_EXISTS);
  });

  it('answers ALREADY_EXISTS for the same name with other parameters', async () => {
    await create('pvc-1', { parameters: { tier: 'fast' } });
    await expectCode(create('pvc-1', { parameters: { tier: 'slow' } }), status.ALREADY_EXISTS);
  });

  it('answers OUT_OF_RANGE when required_bytes is above --max-volume-size, and creates nothing', async () => {
    await expectCode(create('pvc-1', { capacity_range: range(10n * GiB + 1n) }), status.OUT_OF_RANGE);
    expect(await readdir(d.layout.volumesDir)).toEqual([]);
  });

  it('answers INVALID_ARGUMENT when limit_bytes is below required_bytes', async () => {
    await expectCode(create('pvc-1', { capacity_range: range(2n * MiB, MiB) }), status.INVALID_ARGUMENT);
  });

  it('answers RESOURCE_EXHAUSTED when requisite topology names only another node', async () => {
    const accessibility_requirements = { requisite: [topologyOf('node-b')], preferred: [] };
    await expectCode(create('pvc-1', { accessibility_requirements }), status.RESOURCE_EXHAUSTED);
  });

  it('ignores preferred topology of another node', async () => {
    const accessibility_requirements = { requisite: [], preferred: [topologyOf('node-b')] };
    await expect(create('pvc-1', { accessibility_requirements })).resolves.toBeDefined();
  });

  it('accepts a mutable parameter in the allow-list and records it', async () => {
    const id = (await create('pvc-1', { mutable_parameters: { iops: '100' } })).volume!.volume_id!;
    expect(d.controllerDeps.catalog.getVolume(id)?.mutableParameters).toEqual({ iops: '100' });
  });

  it('answers INVALID_ARGUMENT for a mutable parameter key not in the allow-list', async () => {
    await expectCode(create('pvc-1', { mutable_parameters: { throughput: '1' } }), status.INVALID_ARGUMENT);
  });

  it('creates a block volume as an image file of exactly the capacity, attached nowhere', async () => {
    const res = await create('pvc-blk', { volume_capabilities: [blockCap()], capacity_range: range(3n * MiB + 512n) });
    const id = res.volume!.volume_id!;
    expect((await stat(path.join(d.layout.volumeDataDir(id), BLOCK_IMAGE))).size).toBe(Number(3n * MiB + 512n));
    expect(d.controllerDeps.catalog.getVolume(id)).toMatchObject({ kind: 'block', accessType: 'block' });
    expect(d.loops.attached.size).toBe(0);
  });

  it('answers ALREADY_EXISTS for a block request with the name of a mount volume', async () => {
    await create('pvc-1');
    await expectCode(create('pvc-1', { volume_capabilities: [blockCap()] }), status.ALREADY_EXISTS);
  });

  it('answers INVALID_ARGUMENT for mixed mount and block capabilities', async () => {
    await expectCode(create('pvc-1', { volume_capabilities: [mountCap(), blockCap()] }), status.INVALID_ARGUMENT);
  });

  it('answers INVALID_ARGUMENT for a missing name', async () => {
    await expectCode(create(''), status.INVALID_ARGUMENT);
  });

  it('answers INVALID_ARGUMENT for missing capabilities', async () => {
    await expectCode(create('pvc-1', { volume_capabilities: [] }), status.INVALID_ARGUMENT);
  });

  it('answers INVALID_ARGUMENT for the UNKNOWN access mode', async () => {
    await expectCode(create('pvc-1', { volume_capabilities: [mountCap('UNKNOWN')] }), status.INVALID_ARGUMENT);
  });

  it('makes one volume of two same-name calls started in the same tick', async () => {
    const results = await Promise.allSettled([create('pvc-race', { capacity_range: range(MiB) }), create('pvc-race', { capacity_range: range(MiB) })]);
    const ids = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.volume!.volume_id] : []));
    const codes = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code: number }).code] : []));
    expect(ids.length).toBeGreaterThanOrEqual(1);
    expect(new Set(ids).size).toBe(1);
    expect(codes.every((c) => c === status.ABORTED)).toBe(true);
    expect(await readdir(d.layout.volumesDir)).toHaveLength(1);
    expect(await readdir(d.layout.volumeRecordsDir)).toHaveLength(1);
  });
});

describe('DeleteVolume', () => {
  it('removes the volume directory and its record', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    await invoke(d.controller.DeleteVolume, deleteVolumeRequest(id));
    expect(await readdir(d.layout.volumesDir)).toEqual([]);
    expect(await readdir(d.layout.volumeRecordsDir)).toEqual([]);
    expect(d.controllerDeps.catalog.getVolume(id)).toBeUndefined();
  });

  it('succeeds again for a volume already deleted', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    await invoke(d.controller.DeleteVolume, deleteVolumeRequest(id));
    await expect(invoke(d.controller.DeleteVolume, deleteVolumeRequest(id))).resolves.toEqual({});
  });

  it('succeeds for a volume ID it never issued', async () => {
    await expect(invoke(d.controller.DeleteVolume, deleteVolumeRequest('never-existed'))).resolves.toEqual({});
  });

  it('frees the name: a new volume with it gets a new ID', async () => {
    const first = await createVolumeId(d, 'pvc-1');
    await invoke(d.controller.DeleteVolume, deleteVolumeRequest(first));
    expect(await createVolumeId(d, 'pvc-1')).not.toBe(first);
  });

  it('answers FAILED_PRECONDITION for a published volume and keeps its data', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    await invoke(d.controller.ControllerPublishVolume, controllerPublishRequest(id));
    await expectCode(invoke(d.controller.DeleteVolume, deleteVolumeRequest(id)), status.FAILED_PRECONDITION);
    expect(await readdir(d.layout.volumesDir)).toEqual([id]);
  });

  it('answers INVALID_ARGUMENT for a path-like volume ID', async () => {
    await expectCode(invoke(d.controller.DeleteVolume, deleteVolumeRequest('../records')), status.INVALID_ARGUMENT);
  });
});
