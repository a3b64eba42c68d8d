import { status } from '@grpc/grpc-js';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, codeOf } from '../helpers/csi-client';
import { DataScratch, MiB, mountLayersAt, mountRootAt } from '../helpers/data';
import { exists, isMountPoint, isRoot, mountCapability, NEEDS_ROOT, type DriverProcess } from '../helpers/driver-process';

const scratch = new DataScratch();

afterAll(() => scratch.expectHostLeftClean());

const EPHEMERAL_KEY = 'csi.storage.k8s.io/ephemeral';

describe.skipIf(!isRoot)(`inline ephemeral volumes${NEEDS_ROOT}`, () => {
  let root: string;
  let driver: DriverProcess;

  const target = (volumeId: string): string => path.join(root, 'pods', volumeId, 'volumes', 'inline', 'mount');
  const ephemeralDir = (volumeId: string): string => path.join(driver.stateDir, 'ephemeral', volumeId);
  const nodeRecord = (volumeId: string): string => path.join(driver.stateDir, 'records', 'node', `${volumeId}.json`);

  const publish = async (volumeId: string, size?: string): Promise<void> => {
    const n = driver.clients.node;
    await call(n.NodePublishVolume.bind(n), {
      volume_id: volumeId,
      target_path: target(volumeId),
      volume_capability: mountCapability('SINGLE_NODE_WRITER'),
      readonly: false,
      volume_context: { [EPHEMERAL_KEY]: 'true', ...(size === undefined ? {} : { size }) },
    });
  };
  const unpublish = async (volumeId: string): Promise<void> => {
    const n = driver.clients.node;
    await call(n.NodeUnpublishVolume.bind(n), { volume_id: volumeId, target_path: target(volumeId) });
  };
  const totalBytes = async (volumeId: string): Promise<string> => {
    const n = driver.clients.node;
    const res = await call(n.NodeGetVolumeStats.bind(n), { volume_id: volumeId, volume_path: target(volumeId) });
    return res.usage.find((u) => u.unit === 'BYTES')!.total;
  };
  const leftovers = async (volumeId: string): Promise<string[]> => {
    const paths = [target(volumeId), ephemeralDir(volumeId), nodeRecord(volumeId)];
    const found: string[] = [];
    for (const p of paths) if (await exists(p)) found.push(p);
    return found;
  };

  beforeAll(async () => {
    root = await scratch.dir();
    driver = await scratch.start({ root, extraArgs: ['--default-volume-size=16Mi', '--max-volume-size=128Mi'] });
  });

  afterAll(async () => {
    expect((await driver.stop()).code).toBe(0);
  });

  describe('a 64Mi inline volume through its life', () => {
    const id = 'csi-inline-64mi';

    it('NodePublishVolume bind-mounts <state>/ephemeral/<id> at the target path', async () => {
      await publish(id, '64Mi');
      expect(await isMountPoint(target(id))).toBe(true);
      expect(await mountRootAt(target(id))).toMatch(new RegExp(`/ephemeral/${id}$`));
    });

    it('a file written through the target appears in <state>/ephemeral/<id>/', async () => {
      await writeFile(path.join(target(id), 'scratch.txt'), 'inline data');
      expect(await readFile(path.join(ephemeralDir(id), 'scratch.txt'), 'utf8')).toBe('inline data');
    });

    it('NodeGetVolumeStats reports a total of 67108864 bytes', async () => {
      expect(await totalBytes(id)).toBe(String(64 * MiB));
    });

    it('publishing it again with the same arguments succeeds and stacks no second mount', async () => {
      await publish(id, '64Mi');
      expect(await mountLayersAt(target(id))).toBe(1);
      expect(await readFile(path.join(target(id), 'scratch.txt'), 'utf8')).toBe('inline data');
    });

    it('NodeUnpublishVolume removes the target, the ephemeral directory and the node record', async () => {
      await unpublish(id);
      expect(await isMountPoint(target(id))).toBe(false);
      expect(await leftovers(id)).toEqual([]);
    });

    it('NodeGetVolumeStats after the unpublish is NOT_FOUND', async () => {
      expect(await codeOf(totalBytes(id))).toBe(status.NOT_FOUND);
    });
  });

  it.each(['abc', '-1', '0'])('size %j is INVALID_ARGUMENT and creates nothing', async (size) => {
    const id = `csi-inline-bad-${size.replace(/[^a-z0-9]/g, 'x')}`;
    expect(await codeOf(publish(id, size))).toBe(status.INVALID_ARGUMENT);
    expect(await leftovers(id)).toEqual([]);
  });

  it('a size above --max-volume-size is OUT_OF_RANGE and creates nothing', async () => {
    const id = 'csi-inline-too-big';
    expect(await codeOf(publish(id, '1Gi'))).toBe(status.OUT_OF_RANGE);
    expect(await leftovers(id)).toEqual([]);
  });

  it('without a size the capacity is --default-volume-size', async () => {
    const id = 'csi-inline-default';
    await publish(id);
    expect(await totalBytes(id)).toBe(String(16 * MiB));
    await unpublish(id);
    expect(await leftovers(id)).toEqual([]);
  });
});
