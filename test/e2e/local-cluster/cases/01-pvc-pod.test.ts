import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cluster } from '../lib/cluster';
import { ensureForm } from '../lib/deployment';
import { nodeExists, nodeSha256 } from '../lib/node-files';
import { inNamespace, pvc } from '../lib/workloads';

describe('a PVC (Immediate binding) and pods', () => {
  beforeAll(() => ensureForm('single-node'));

  it('keeps a file across pods, and deleting the PVC removes its directory from the state dir', () =>
    inNamespace('pvc-pod', 240_000, async (ns) => {
      await ns.create(pvc('data'));
      const pv = await ns.waitBound('data');
      const dataDir = path.join(cluster.stateDir, 'volumes', pv.spec.csi.volumeHandle);
      expect(await nodeExists(dataDir)).toBe(true);

      const written = await ns.run('writer', {
        claim: 'data',
        script: 'head -c 1048576 /dev/urandom > /data/payload; sync; sha256sum /data/payload',
      });
      await ns.deletePod('writer');
      const read = await ns.run('reader', { claim: 'data', script: 'sha256sum /data/payload' });
      expect(read).toBe(written);
      // The same bytes on the node, in the volume's own directory.
      const onHost = await nodeSha256(path.join(dataDir, 'payload'));
      expect(written.split(' ')[0]).toBe(onHost);
      await ns.deletePod('reader');

      await ns.deletePvc('data');
      await ns.waitPvGone(pv.metadata.name);
      expect(await nodeExists(dataDir)).toBe(false);
    }));
});
