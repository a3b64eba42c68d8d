import { status } from '@grpc/grpc-js';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createVolumeId,
  expectCode,
  invoke,
  MiB,
  NODE_ID,
  nodeExpandRequest,
  nodePublishRequest,
  stageRequest,
  startDriver,
  volumeStatsRequest,
  type TestDriver,
} from '../../helpers/fakes';

let d: TestDriver;

afterEach(async () => {
  await d.cleanup();
});

/** A driver with one volume of `bytes`, staged and published; answers the volume ID and target path. */
async function publishedVolume(bytes = 64n * MiB): Promise<{ id: string; target: string; staging: string }> {
  d = await startDriver();
  const id = await createVolumeId(d, 'pvc-1', bytes);
  const staging = path.join(d.dir, 'kubelet', 'staging', id);
  const target = path.join(d.dir, 'kubelet', 'pods', 'pod-1', 'mount');
  await invoke(d.node.NodeStageVolume, stageRequest(id, staging));
  await invoke(d.node.NodePublishVolume, nodePublishRequest(id, staging, target));
  return { id, target, staging };
}

const stats = (id: string, p: string) => invoke(d.node.NodeGetVolumeStats, volumeStatsRequest(id, p));
const bytesUsage = async (id: string, p: string) => (await stats(id, p)).usage!.find((u) => u.unit === 'BYTES')!;

describe('NodeGetVolumeStats', () => {
  it('answers total bytes equal to the volume capacity', async () => {
    const { id, target } = await publishedVolume(64n * MiB);
    expect((await bytesUsage(id, target)).total).toBe(String(64n * MiB));
  });

  it('counts a file written into the volume directory as used', async () => {
    const { id, target } = await publishedVolume();
    const before = BigInt((await bytesUsage(id, target)).used as string);
    await writeFile(path.join(d.layout.volumeDataDir(id), 'data'), Buffer.alloc(256 * 1024, 1));
    const after = await bytesUsage(id, target);
    expect(BigInt(after.used as string) - before).toBeGreaterThanOrEqual(256n * 1024n);
    expect(BigInt(after.available as string)).toBe(64n * MiB - BigInt(after.used as string));
  });

  it('answers for the staging path too', async () => {
    const { id, staging } = await publishedVolume();
    expect((await bytesUsage(id, staging)).total).toBe(String(64n * MiB));
  });

  it('reports a normal volume condition', async () => {
    const { id, target } = await publishedVolume();
    expect((await stats(id, target)).volume_condition).toMatchObject({ abnormal: false });
  });

  it('answers NOT_FOUND for a relative path', async () => {
    const { id } = await publishedVolume();
    await expectCode(stats(id, 'some/path'), status.NOT_FOUND);
  });

  it('answers NOT_FOUND for a path where the volume is not mounted', async () => {
    const { id } = await publishedVolume();
    await expectCode(stats(id, d.dir), status.NOT_FOUND);
  });

  it('answers NOT_FOUND for an unknown volume', async () => {
    const { target } = await publishedVolume();
    await expectCode(stats('vol-9999', target), status.NOT_FOUND);
  });

  it('answers INVALID_ARGUMENT for an empty volume_path', async () => {
    const { id } = await publishedVolume();
    await expectCode(stats(id, ''), status.INVALID_ARGUMENT);
  });
});

describe('NodeExpandVolume', () => {
  it('answers the capacity the controller recorded', async () => {
    const { id, target } = await publishedVolume(64n * MiB);
    expect(await invoke(d.node.NodeExpandVolume, nodeExpandRequest(id, target))).toEqual({ capacity_bytes: String(64n * MiB) });
  });

  it('answers INVALID_ARGUMENT for an empty volume_path of a real volume', async () => {
    const { id } = await publishedVolume();
    await expectCode(invoke(d.node.NodeExpandVolume, nodeExpandRequest(id, '')), status.INVALID_ARGUMENT);
  });

  it('answers NOT_FOUND for an unknown volume', async () => {
    const { target } = await publishedVolume();
    await expectCode(invoke(d.node.NodeExpandVolume, nodeExpandRequest('vol-9999', target)), status.NOT_FOUND);
  });

  it('answers NOT_FOUND for a path where the volume is not mounted', async () => {
    const { id } = await publishedVolume();
    await expectCode(invoke(d.node.NodeExpandVolume, nodeExpandRequest(id, path.join(d.dir, 'elsewhere'))), status.NOT_FOUND);
  });
});

describe('NodeGetInfo and NodeGetCapabilities', () => {
  it('reports the node ID, attach limit and topology', async () => {
    d = await startDriver({ 'max-volumes-per-node': '7' });
    expect(await invoke(d.node.NodeGetInfo, {})).toEqual({
      node_id: NODE_ID,
      max_volumes_per_node: '7',
      accessible_topology: { segments: { 'topology.hostpath.csi.dev/node': NODE_ID } },
    });
  });

  it('advertises staging, stats, expansion and volume condition', async () => {
    d = await startDriver();
    const res = await invoke(d.node.NodeGetCapabilities, {});
    expect(res.capabilities?.map((c) => c.rpc?.type)).toEqual(
      expect.arrayContaining(['STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS', 'EXPAND_VOLUME', 'VOLUME_CONDITION']),
    );
  });
});
