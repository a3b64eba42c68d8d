import { beforeAll, describe, expect, it } from 'vitest';
import { ensureForm } from '../lib/deployment';
import { inNamespace, pvc } from '../lib/workloads';

describe('a PVC cloned from a PVC', () => {
  beforeAll(() => ensureForm('single-node'));

  it("starts with the source's data and is independent of it afterwards", () =>
    inNamespace('clone', 300_000, async (ns) => {
      await ns.create(pvc('source'));
      await ns.waitBound('source');
      const written = await ns.run('writer', {
        claim: 'source',
        script: 'head -c 262144 /dev/urandom > /data/blob; echo original > /data/note; sync; sha256sum /data/blob',
      });
      await ns.deletePod('writer');

      await ns.create(pvc('copy', { dataSource: { kind: 'PersistentVolumeClaim', name: 'source' } }));
      await ns.waitBound('copy');
      const seen = await ns.run('reader', { claim: 'copy', script: 'sha256sum /data/blob; cat /data/note; echo changed > /data/note' });
      expect(seen).toBe(`${written}original\n`);

      const source = await ns.run('source-reader', { claim: 'source', script: 'cat /data/note' });
      expect(source).toBe('original\n');
      await ns.deletePod('reader');
      await ns.deletePod('source-reader');
    }));
});
