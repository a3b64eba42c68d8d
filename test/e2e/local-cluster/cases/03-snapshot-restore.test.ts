import { beforeAll, describe, expect, it } from 'vitest';
import { ensureForm } from '../lib/deployment';
import { inNamespace, pvc, snapshotReady, volumeSnapshot } from '../lib/workloads';

describe('VolumeSnapshot and restore', () => {
  beforeAll(() => ensureForm('single-node'));

  it("restores the snapshot's data into a new PVC, not writes made after the snapshot", () =>
    inNamespace('snapshot', 300_000, async (ns) => {
      await ns.create(pvc('source'));
      await ns.waitBound('source');
      await ns.startPod('user', { claim: 'source' });
      await ns.exec('user', 'echo before-snapshot > /data/state; mkdir -p /data/dir; echo nested > /data/dir/file; sync');

      await ns.create(volumeSnapshot('snap', 'source'));
      await snapshotReady(ns, 'snap');
      await ns.exec('user', 'echo after-snapshot > /data/state; echo later > /data/later; sync');

      await ns.create(pvc('restored', { dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'snap' } }));
      await ns.waitBound('restored');
      const out = await ns.run('reader', { claim: 'restored', script: 'cat /data/state /data/dir/file; ls /data' });
      expect(out).toBe('before-snapshot\nnested\ndir\nstate\n');
      // The source still has its later writes: the restore did not touch it.
      expect(await ns.exec('user', 'cat /data/state')).toBe('after-snapshot\n');
      await ns.deletePod('reader');
      await ns.deletePod('user');
    }));
});
