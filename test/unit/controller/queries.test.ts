import { status } from '@grpc/grpc-js';
import { rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeToken } from '../../../src/domain/paging';
import {
  blockCap,
  controllerPublishRequest,
  createVolumeId,
  createVolumeRequest,
  deleteVolumeRequest,
  expectCode,
  getCapacityRequest,
  getVolumeRequest,
  GiB,
  invoke,
  listVolumesRequest,
  mountCap,
  NODE_ID,
  startDriver,
  topologyOf,
  validateCapabilitiesRequest,
  type TestDriver,
} from '../../helpers/fakes';

let d: TestDriver;

beforeEach(async () => {
  d = await startDriver({ 'max-volume-size': '10Gi' });
});

afterEach(async () => {
  await d.cleanup();
});

async function createVolumes(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(await createVolumeId(d, `pvc-${i}`));
  return ids;
}

describe('ValidateVolumeCapabilities', () => {
  it('confirms mount capabilities of a mount volume, echoing them', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    const caps = [mountCap('SINGLE_NODE_WRITER'), mountCap('MULTI_NODE_MULTI_WRITER')];
    const res = await invoke(d.controller.ValidateVolumeCapabilities, validateCapabilitiesRequest(id, caps));
    expect(res.confirmed?.volume_capabilities).toEqual(caps);
  });

  it('does not confirm block access for a mount volume, and says why', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    const res = await invoke(d.controller.ValidateVolumeCapabilities, validateCapabilitiesRequest(id, [blockCap()]));
    expect(res.confirmed).toBeUndefined();
    expect(res.message).toMatch(/mount volume/);
  });

  it('does not confirm parameters that differ from the volume\'s', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    const res = await invoke(d.controller.ValidateVolumeCapabilities, { ...validateCapabilitiesRequest(id), parameters: { tier: 'gold' } });
    expect(res.confirmed).toBeUndefined();
    expect(res.message).toMatch(/tier/);
  });

  const fsCap = (fsType: string) => {
    const cap = mountCap();
    return { ...cap, mount: { ...cap.mount!, fs_type: fsType } };
  };
  const imageVolume = async () =>
    (await invoke(d.controller.CreateVolume, createVolumeRequest('pvc-img', { parameters: { sizeLimit: 'image' }, volume_capabilities: [fsCap('ext4')] }))).volume?.volume_id ?? '';

  it('does not confirm another filesystem than the one an image volume holds, and says which', async () => {
    const res = await invoke(d.controller.ValidateVolumeCapabilities, validateCapabilitiesRequest(await imageVolume(), [fsCap('xfs')]));
    expect(res.confirmed).toBeUndefined();
    expect(res.message).toBe('volume holds ext4, not xfs');
  });

  it('confirms an image volume for its own filesystem and for an empty fs_type', async () => {
    const id = await imageVolume();
    const res = await invoke(d.controller.ValidateVolumeCapabilities, validateCapabilitiesRequest(id, [fsCap('ext4'), fsCap('')]));
    expect(res.confirmed?.volume_capabilities).toHaveLength(2);
  });

  it('confirms a directory volume whatever fs_type is asked (it has no filesystem of its own)', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    const res = await invoke(d.controller.ValidateVolumeCapabilities, validateCapabilitiesRequest(id, [fsCap('xfs')]));
    expect(res.confirmed).toBeDefined();
  });

  it('answers NOT_FOUND for an unknown volume', async () => {
    await expectCode(invoke(d.controller.ValidateVolumeCapabilities, validateCapabilitiesRequest('vol-9999')), status.NOT_FOUND);
  });

  it('answers INVALID_ARGUMENT for no capabilities', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    await expectCode(invoke(d.controller.ValidateVolumeCapabilities, validateCapabilitiesRequest(id, [])), status.INVALID_ARGUMENT);
  });
});

describe('ListVolumes', () => {
  it('walks 5 volumes in pages of 2, seeing each exactly once in ID order', async () => {
    const ids = await createVolumes(5);
    const seen: string[] = [];
    const pageSizes: number[] = [];
    let token = '';
    do {
      const page = await invoke(d.controller.ListVolumes, listVolumesRequest(2, token));
      pageSizes.push(page.entries!.length);
      seen.push(...page.entries!.map((e) => e.volume!.volume_id!));
      token = page.next_token ?? '';
    } while (token !== '');
    expect(pageSizes).toEqual([2, 2, 1]);
    expect(seen).toEqual([...ids].sort());
  });

  it('returns everything with no next_token when max_entries is 0', async () => {
    const ids = await createVolumes(3);
    const page = await invoke(d.controller.ListVolumes, listVolumesRequest(0));
    expect(page.entries!.map((e) => e.volume!.volume_id)).toEqual(ids);
    expect(page.next_token).toBe('');
  });

  it('resumes after the last key, so a deletion between pages skips nothing', async () => {
    const ids = await createVolumes(5);
    const first = await invoke(d.controller.ListVolumes, listVolumesRequest(2));
    await invoke(d.controller.DeleteVolume, deleteVolumeRequest(ids[0]!));
    const second = await invoke(d.controller.ListVolumes, listVolumesRequest(2, first.next_token));
    expect(second.entries!.map((e) => e.volume!.volume_id)).toEqual([ids[2], ids[3]]);
  });

  it('answers ABORTED for a garbage starting_token', async () => {
    await createVolumes(1);
    await expectCode(invoke(d.controller.ListVolumes, listVolumesRequest(2, 'garbage')), status.ABORTED);
  });

  it('answers INVALID_ARGUMENT for a negative max_entries', async () => {
    await expectCode(invoke(d.controller.ListVolumes, listVolumesRequest(-1)), status.INVALID_ARGUMENT);
  });

  it('reports the nodes a volume is published to', async () => {
    const [a, b] = await createVolumes(2);
    await invoke(d.controller.ControllerPublishVolume, controllerPublishRequest(a!));
    const page = await invoke(d.controller.ListVolumes, listVolumesRequest());
    const published = Object.fromEntries(page.entries!.map((e) => [e.volume!.volume_id, e.status!.published_node_ids]));
    expect(published).toEqual({ [a!]: [NODE_ID], [b!]: [] });
  });

  it('answers an empty page for a token past the last volume', async () => {
    await createVolumes(2);
    const page = await invoke(d.controller.ListVolumes, listVolumesRequest(2, encodeToken('zzz')));
    expect(page).toEqual({ entries: [], next_token: '' });
  });
});

describe('GetCapacity', () => {
  it('answers the free space the state filesystem reports, capped maximum by --max-volume-size', async () => {
    d.statFs.stats.availableBytes = 50n * GiB;
    const res = await invoke(d.controller.GetCapacity, getCapacityRequest());
    expect(res).toEqual({
      available_capacity: String(50n * GiB),
      maximum_volume_size: { value: String(10n * GiB) },
      minimum_volume_size: { value: '0' },
    });
    expect(d.statFs.calls).toEqual([d.layout.volumesDir]);
  });

  it('answers the free space as maximum when it is below --max-volume-size', async () => {
    d.statFs.stats.availableBytes = 3n * GiB;
    const res = await invoke(d.controller.GetCapacity, getCapacityRequest());
    expect(res.maximum_volume_size).toEqual({ value: String(3n * GiB) });
  });

  it('answers the free space for this node\'s topology', async () => {
    const res = await invoke(d.controller.GetCapacity, getCapacityRequest({ accessible_topology: topologyOf(NODE_ID) }));
    expect(res.available_capacity).toBe(String(d.statFs.stats.availableBytes));
  });

  it('answers 0 for another node\'s topology', async () => {
    const res = await invoke(d.controller.GetCapacity, getCapacityRequest({ accessible_topology: topologyOf('node-b') }));
    expect(res.available_capacity).toBe('0');
  });

  it('answers INVALID_ARGUMENT for a bad capability', async () => {
    await expectCode(invoke(d.controller.GetCapacity, getCapacityRequest({ volume_capabilities: [mountCap('UNKNOWN')] })), status.INVALID_ARGUMENT);
  });
});

describe('ControllerGetVolume', () => {
  it('answers the volume with a normal condition and its published nodes', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    await invoke(d.controller.ControllerPublishVolume, controllerPublishRequest(id));
    const res = await invoke(d.controller.ControllerGetVolume, getVolumeRequest(id));
    expect(res.volume).toMatchObject({ volume_id: id, capacity_bytes: String(GiB) });
    expect(res.status).toMatchObject({ published_node_ids: [NODE_ID], volume_condition: { abnormal: false } });
  });

  it('reports an abnormal condition when the volume directory was removed behind its back', async () => {
    const id = await createVolumeId(d, 'pvc-1');
    await rm(d.layout.volumeDataDir(id), { recursive: true });
    const res = await invoke(d.controller.ControllerGetVolume, getVolumeRequest(id));
    expect(res.status?.volume_condition).toMatchObject({ abnormal: true });
    expect(res.status?.volume_condition?.message).toMatch(/missing/);
  });

  it('answers NOT_FOUND for an unknown volume', async () => {
    await expectCode(invoke(d.controller.ControllerGetVolume, getVolumeRequest('vol-9999')), status.NOT_FOUND);
  });
});
