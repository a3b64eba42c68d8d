import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cluster } from '../lib/cluster';
import { crashDriver, ensureForm } from '../lib/deployment';
import { nodeExists } from '../lib/node-files';
import { inNamespace, pvc } from '../lib/workloads';

describe('a driver restart while pods use its volumes', () => {
  beforeAll(() => ensureForm('single-node'));

  it('keeps the pods\' data, and unmount and delete still work afterwards', () =>
    inNamespace('restart', 300_000, async (ns) => {
      await ns.create(pvc('files'), pvc('disk', { size: '16Mi', volumeMode: 'Block' }));
      await ns.waitBound('files');
      await ns.waitBound('disk');
      await ns.startPod('files-user', { claim: 'files' });
      await ns.startPod('disk-user', { claim: 'disk', block: true });
      await ns.exec('files-user', 'echo before-crash > /data/f; sync');
      await ns.exec('disk-user', 'echo before-crash | dd of=/dev/xvda conv=notrunc 2>/dev/null; sync');

      // Host processes: SIGKILL (a crash, not a clean shutdown), started again as kubelet restarts a container.
      // Pods: the driver's pod deleted, a new one made by its StatefulSet.
      const { before, after } = await crashDriver();
      expect(after).not.toBe(before);

      expect(await ns.exec('files-user', 'cat /data/f; echo after-restart >> /data/f; cat /data/f')).toBe('before-crash\nbefore-crash\nafter-restart\n');
      expect(await ns.exec('disk-user', 'head -c 13 /dev/xvda')).toBe('before-crash\n');

      const volumes = await Promise.all(['files', 'disk'].map(async (c) => (await ns.pvOf(c)).spec.csi.volumeHandle));
      await ns.deletePod('files-user');
      await ns.deletePod('disk-user');
      for (const claim of ['files', 'disk']) {
        const pv = (await ns.pvOf(claim)).metadata.name;
        await ns.deletePvc(claim);
        await ns.waitPvGone(pv);
      }
      for (const id of volumes) expect(await nodeExists(path.join(cluster.stateDir, 'volumes', id))).toBe(false);
    }));
});
