import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cluster, kubeletGet, waitFor } from '../lib/cluster';
import { ensureForm } from '../lib/deployment';
import { nodeExists, nodeReaddir } from '../lib/node-files';
import { inNamespace } from '../lib/workloads';

const EPHEMERAL_DIR = path.join(cluster.stateDir, 'ephemeral');

const ephemeralVolumes = () => nodeReaddir(EPHEMERAL_DIR);

interface Summary {
  pods: { podRef: { name: string; namespace: string }; volume?: { name: string; capacityBytes?: number; usedBytes?: number }[] }[];
}

describe('a CSI inline ephemeral volume', () => {
  beforeAll(() => ensureForm('single-node'));

  it('is created with the pod at the size its attributes ask for, and deleted with the pod', () =>
    inNamespace('ephemeral', 240_000, async (ns) => {
      const before = await ephemeralVolumes();
      await ns.startPod('user', { inline: { size: '48Mi' } });
      await ns.exec('user', 'echo scratch > /data/f');
      const created = (await ephemeralVolumes()).filter((v) => !before.includes(v));
      expect(created).toHaveLength(1);
      expect(await nodeExists(path.join(EPHEMERAL_DIR, created[0]!, 'f'))).toBe(true);

      // The size reaches kubelet through NodeGetVolumeStats: its stats summary reports the volume's capacity.
      const capacity = await waitFor('kubelet to report the inline volume\'s capacity', async () => {
        const summary = JSON.parse(await kubeletGet('/stats/summary')) as Summary;
        const p = summary.pods.find((x) => x.podRef.namespace === ns.name && x.podRef.name === 'user');
        return p?.volume?.find((v) => v.name === 'vol')?.capacityBytes;
      }, 60_000);
      expect(capacity).toBe(48 * 1024 * 1024);

      // The pod object goes once its containers stop; kubelet unmounts (NodeUnpublishVolume) right after.
      await ns.deletePod('user');
      await waitFor('the inline volume to be deleted with its pod', async () => !(await nodeExists(path.join(EPHEMERAL_DIR, created[0]!))), 60_000);
    }));
});
