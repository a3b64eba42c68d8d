import { status } from '@grpc/grpc-js';
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createVolumeId,
  expandVolumeRequest,
  expectCode,
  GiB,
  invoke,
  MiB,
  modifyVolumeRequest,
  range,
  startDriver,
  type TestDriver,
} from '../../helpers/fakes';

let d: TestDriver;

beforeEach(async () => {
  d = await startDriver({ 'max-volume-size': '10Gi', 'mutable-parameters': 'iops,tier' });
});

afterEach(async () => {
  await d.cleanup();
});

const expand = (id: string, r: ReturnType<typeof range> | null) => invoke(d.controller.ControllerExpandVolume, expandVolumeRequest(id, r));
const recordOf = async (id: string) => JSON.parse(await readFile(d.layout.volumeRecordFile(id), 'utf8')) as { capacityBytes: string; mutableParameters: Record<string, string> };

describe('ControllerExpandVolume', () => {
  it('grows to exactly required_bytes and records it', async () => {
    const id = await createVolumeId(d, 'pvc-1', MiB);
    const res = await expand(id, range(3n * MiB + 7n));
    expect(res).toEqual({ capacity_bytes: String(3n * MiB + 7n), node_expansion_required: false });
    expect((await recordOf(id)).capacityBytes).toBe(String(3n * MiB + 7n));
  });

  it('never shrinks: a smaller required_bytes answers the current size', async () => {
    const id = await createVolumeId(d, 'pvc-1', 2n * MiB);
    const res = await expand(id, range(MiB));
    expect(res.capacity_bytes).toBe(String(2n * MiB));
    expect((await recordOf(id)).capacityBytes).toBe(String(2n * MiB));
  });

  it('answers OUT_OF_RANGE when limit_bytes is below the current size', async () => {
    const id = await createVolumeId(d, 'pvc-1', 2n * MiB);
    await expectCode(expand(id, range(0, MiB)), status.OUT_OF_RANGE);
  });

  it('answers OUT_OF_RANGE above --max-volume-size and keeps the size', async () => {
    const id = await createVolumeId(d, 'pvc-1', MiB);
    await expectCode(expand(id, range(10n * GiB + 1n)), status.OUT_OF_RANGE);
    expect((await recordOf(id)).capacityBytes).toBe(String(MiB));
  });

  it('answers NOT_FOUND for an unknown volume', async () => {
    await expectCode(expand('vol-9999', range(MiB)), status.NOT_FOUND);
  });

  it('answers INVALID_ARGUMENT without a capacity range', async () => {
    const id = await createVolumeId(d, 'pvc-1', MiB);
    await expectCode(expand(id, null), status.INVALID_ARGUMENT);
  });
});

describe('ControllerModifyVolume', () => {
  it('merges allowed keys into the volume record', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    await invoke(d.controller.ControllerModifyVolume, modifyVolumeRequest(id, { iops: '100' }));
    await invoke(d.controller.ControllerModifyVolume, modifyVolumeRequest(id, { tier: 'gold' }));
    expect((await recordOf(id)).mutableParameters).toEqual({ iops: '100', tier: 'gold' });
  });

  it('answers INVALID_ARGUMENT for a key outside the allow-list and changes nothing', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    await expectCode(invoke(d.controller.ControllerModifyVolume, modifyVolumeRequest(id, { iops: '5', size: '1' })), status.INVALID_ARGUMENT);
    expect((await recordOf(id)).mutableParameters).toEqual({});
  });

  it('answers NOT_FOUND for an unknown volume', async () => {
    await expectCode(invoke(d.controller.ControllerModifyVolume, modifyVolumeRequest('vol-9999', { iops: '1' })), status.NOT_FOUND);
  });
});
