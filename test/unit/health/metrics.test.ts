import { rm, truncate } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { DriverMetrics } from '../../../src/metrics/metrics';
import { blockImage } from '../../../src/node/block';
import { createVolumeId, createVolumeRequest, invoke, MiB, range, startDriver, type TestDriver } from '../../helpers/fakes';

let d: TestDriver;
let m: DriverMetrics;

afterEach(async () => {
  m.close();
  await d.cleanup();
});

async function series(prefix: string): Promise<string[]> {
  return (await m.render()).split('\n').filter((l) => l.startsWith(prefix));
}

describe('hostpath_csi_abnormal_volumes', () => {
  it('counts each finding of the ready volumes by kind and reason, and drops it once healed', async () => {
    d = await startDriver();
    m = new DriverMetrics({ controller: d.controllerDeps, node: null, loops: null, startupSeconds: () => null }, '9.9.9');
    const dirs = [await createVolumeId(d, 'a'), await createVolumeId(d, 'b')];
    const img = (await invoke(d.controller.CreateVolume, createVolumeRequest('c', { capacity_range: range(64n * MiB), parameters: { sizeLimit: 'image' } }))).volume!.volume_id!;
    expect(await series('hostpath_csi_abnormal_volumes{')).toEqual([]);
    for (const id of dirs) await rm(d.layout.volumeDataDir(id), { recursive: true });
    await truncate(blockImage(d.nodeDeps, img), Number(32n * MiB));
    expect((await series('hostpath_csi_abnormal_volumes{')).sort()).toEqual([
      'hostpath_csi_abnormal_volumes{kind="dir",reason="VolumeDirectoryMissing"} 2',
      'hostpath_csi_abnormal_volumes{kind="image",reason="VolumeImageSize"} 1',
    ]);
    await truncate(blockImage(d.nodeDeps, img), Number(64n * MiB));
    expect(await series('hostpath_csi_abnormal_volumes{')).toEqual(['hostpath_csi_abnormal_volumes{kind="dir",reason="VolumeDirectoryMissing"} 2']);
  });
});
