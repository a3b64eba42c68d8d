import { beforeAll, describe, expect, it } from 'vitest';
import { ensureForm } from '../lib/deployment';
import { inNamespace, pod, pvc } from '../lib/workloads';

interface PodStatus {
  status: { phase: string; conditions?: { type: string; status: string; message?: string }[] };
}

describe('a ReadWriteOncePod PVC', () => {
  beforeAll(() => ensureForm('single-node'));

  it('refuses a second pod while the first uses it, and admits it once the first is gone', () =>
    inNamespace('rwop', 240_000, async (ns) => {
      await ns.create(pvc('solo', { accessModes: ['ReadWriteOncePod'] }));
      await ns.waitBound('solo');
      await ns.startPod('first', { claim: 'solo' });
      await ns.exec('first', 'echo from-first > /data/owner');

      await ns.create(pod('second', { claim: 'solo' }));
      const refused = await ns.waitFor('the scheduler to refuse pod second', async () => {
        const p = await ns.get<PodStatus>('pod', 'second');
        const scheduled = p.status.conditions?.find((c) => c.type === 'PodScheduled');
        return scheduled?.status === 'False' && scheduled.message;
      });
      expect(refused).toContain('ReadWriteOncePod');
      expect((await ns.get<PodStatus>('pod', 'second')).status.phase).toBe('Pending');

      await ns.deletePod('first');
      await ns.waitPodPhase('second', ['Running']);
      expect(await ns.exec('second', 'cat /data/owner')).toBe('from-first\n');
      await ns.deletePod('second');
    }));
});
