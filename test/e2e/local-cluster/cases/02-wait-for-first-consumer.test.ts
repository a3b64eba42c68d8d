import { beforeAll, describe, expect, it } from 'vitest';
import { cluster } from '../lib/cluster';
import { ensureForm } from '../lib/deployment';
import { inNamespace, pvc, storageClass } from '../lib/workloads';

const TOPOLOGY_KEY = 'topology.hostpath.csi.dev/node';

describe('WaitForFirstConsumer binding', () => {
  beforeAll(() => ensureForm('single-node'));

  it('provisions only for a pod, on its node, and the PV gets node affinity for our topology key', () =>
    inNamespace('wffc', 240_000, async (ns) => {
      const sc = await ns.createClusterScoped(storageClass({ volumeBindingMode: 'WaitForFirstConsumer' }));
      await ns.create(pvc('data', { storageClass: sc }));
      // No consumer yet: the claim must wait, not be provisioned.
      await new Promise((r) => setTimeout(r, 3000));
      expect(await ns.pvcPhase('data')).toBe('Pending');

      const out = await ns.run('consumer', { claim: 'data', script: 'echo hello > /data/f; cat /data/f' });
      expect(out).toBe('hello\n');
      const claim = await ns.get<{ metadata: { annotations: Record<string, string> } }>('pvc', 'data');
      expect(claim.metadata.annotations['volume.kubernetes.io/selected-node']).toBe(cluster.nodeName);
      const pv = await ns.pvOf('data');
      expect(pv.spec.nodeAffinity?.required.nodeSelectorTerms).toEqual([
        { matchExpressions: [{ key: TOPOLOGY_KEY, operator: 'In', values: [cluster.nodeName] }] },
      ]);
      await ns.deletePod('consumer');
    }));
});
