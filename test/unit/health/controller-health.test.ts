import { status } from '@grpc/grpc-js';
import { rm, truncate, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { blockImage } from '../../../src/node/block';
import {
  blockCap,
  createVolumeRequest,
  expectCode,
  getVolumeRequest,
  invoke,
  listVolumesRequest,
  MiB,
  range,
  startDriver,
  type TestDriver,
} from '../../helpers/fakes';

let d: TestDriver;

afterEach(async () => {
  await d.cleanup();
});

async function volume(name: string, parameters: Record<string, string> = {}, block = false): Promise<string> {
  const res = await invoke(d.controller.CreateVolume, createVolumeRequest(name, {
    capacity_range: range(64n * MiB),
    parameters,
    ...(block ? { volume_capabilities: [blockCap()] } : {}),
  }));
  return res.volume!.volume_id!;
}

const health = (id: string) => invoke(d.controller.ControllerGetVolumeHealth, { volume_id: id, secrets: {} });
const statuses = async (id: string) => (await health(id)).volume_health!.health_statuses;
const image = (id: string) => blockImage(d.nodeDeps, id);

describe('ControllerGetVolumeHealth', () => {
  it('answers no health statuses for a volume whose data is in place', async () => {
    d = await startDriver({ 'csi-health-api': '1.13' });
    const id = await volume('pv');
    expect(await health(id)).toEqual({ volume_health: { volume_id: id, health_statuses: [] } });
  });

  it('refuses a request without a volume ID with INVALID_ARGUMENT', async () => {
    d = await startDriver();
    await expectCode(health(''), status.INVALID_ARGUMENT);
  });

  it('answers NOT_FOUND for a volume it does not know', async () => {
    d = await startDriver();
    await expectCode(health('no-such-volume'), status.NOT_FOUND);
  });

  it('reports a removed volume directory as INACCESSIBLE', async () => {
    d = await startDriver();
    const id = await volume('pv');
    await rm(d.layout.volumeDataDir(id), { recursive: true });
    expect(await statuses(id)).toEqual([
      { status: 'INACCESSIBLE', reason: 'VolumeDirectoryMissing', message: `volume directory ${d.layout.volumeDataDir(id)} is missing from the state directory` },
    ]);
  });

  it('reports a volume path that is a file, not a directory', async () => {
    d = await startDriver();
    const id = await volume('pv');
    await rm(d.layout.volumeDataDir(id), { recursive: true });
    await writeFile(d.layout.volumeDataDir(id), '');
    expect((await statuses(id))!.map((s) => s.message)).toEqual([`volume path ${d.layout.volumeDataDir(id)} exists but is not a directory`]);
  });

  it('reports a missing image of a block volume as INACCESSIBLE', async () => {
    d = await startDriver();
    const id = await volume('pv', {}, true);
    await rm(image(id));
    expect(await statuses(id)).toEqual([
      { status: 'INACCESSIBLE', reason: 'VolumeImageMissing', message: `volume image ${image(id)} is missing from the state directory` },
    ]);
  });

  it('reports an image truncated below the capacity as DATA_LOSS', async () => {
    d = await startDriver();
    const id = await volume('pv', { sizeLimit: 'image' });
    await truncate(image(id), Number(32n * MiB));
    expect(await statuses(id)).toEqual([{
      status: 'DATA_LOSS',
      reason: 'VolumeImageSize',
      message: `volume image is ${32n * MiB} bytes, smaller than the volume's capacity ${64n * MiB}: data past its end is lost`,
    }]);
  });

  it('reports an image grown beyond the capacity as DEGRADED', async () => {
    d = await startDriver();
    const id = await volume('pv', {}, true);
    await truncate(image(id), Number(65n * MiB));
    expect(await statuses(id)).toEqual([{
      status: 'DEGRADED',
      reason: 'VolumeImageSize',
      message: `volume image is ${65n * MiB} bytes, larger than the volume's capacity ${64n * MiB}`,
    }]);
  });

  it('reports a quota volume whose project limit is used up as DEGRADED', async () => {
    d = await startDriver();
    const id = await volume('pv', { sizeLimit: 'quota' });
    d.statFs.stats = { ...d.statFs.stats, totalBytes: 64n * MiB, availableBytes: 0n };
    expect(await statuses(id)).toEqual([{
      status: 'DEGRADED',
      reason: 'QuotaExceeded',
      message: `the volume's project quota of ${64n * MiB} bytes is used up: writes fail with EDQUOT`,
    }]);
  });

  it('keeps the v1.12 volume_condition of ControllerGetVolume and ListVolumes on the same findings', async () => {
    d = await startDriver();
    const id = await volume('pv');
    await rm(d.layout.volumeDataDir(id), { recursive: true });
    const message = `volume directory ${d.layout.volumeDataDir(id)} is missing from the state directory`;
    expect((await invoke(d.controller.ControllerGetVolume, getVolumeRequest(id))).status?.volume_condition).toEqual({ abnormal: true, message });
    const listed = await invoke(d.controller.ListVolumes, listVolumesRequest());
    expect(listed.entries?.[0]?.status?.volume_condition).toEqual({ abnormal: true, message });
  });
});

describe('ControllerListVolumeHealth', () => {
  const list = (max: number, token = '') => invoke(d.controller.ControllerListVolumeHealth, { max_entries: max, starting_token: token, secrets: {} });

  it('pages through every volume in ID order with opaque tokens, as ListVolumes does', async () => {
    d = await startDriver();
    const ids = [await volume('a'), await volume('b'), await volume('c')];
    await rm(d.layout.volumeDataDir(ids[1]!), { recursive: true });
    const first = await list(2);
    expect(first.entries?.map((e) => [e.volume_id, e.health_statuses?.map((s) => s.reason)])).toEqual([[ids[0], []], [ids[1], ['VolumeDirectoryMissing']]]);
    expect(first.next_token).not.toBe('');
    const second = await list(2, first.next_token);
    expect(second.entries?.map((e) => e.volume_id)).toEqual([ids[2]]);
    expect(second.next_token).toBe('');
  });

  it('answers ABORTED for a starting token it did not issue', async () => {
    d = await startDriver();
    await expectCode(list(1, 'not-a-token'), status.ABORTED);
  });

  it('refuses a negative max_entries with INVALID_ARGUMENT', async () => {
    d = await startDriver();
    await expectCode(list(-1), status.INVALID_ARGUMENT);
  });
});
