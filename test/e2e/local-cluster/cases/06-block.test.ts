import { beforeAll, describe, expect, it } from 'vitest';
import { ensureForm } from '../lib/deployment';
import { inNamespace, pvc } from '../lib/workloads';

describe('a raw block PVC', () => {
  beforeAll(() => ensureForm('single-node'));

  it('is a device of exactly its size; what one pod writes through it, the next pod reads back', () =>
    inNamespace('block', 240_000, async (ns) => {
      await ns.create(pvc('disk', { size: '32Mi', volumeMode: 'Block' }));
      await ns.waitBound('disk');
      const written = await ns.run('writer', {
        claim: 'disk',
        block: true,
        script: [
          'blockdev --getsize64 /dev/xvda',
          'head -c 1048576 /dev/urandom > /tmp/payload',
          'dd if=/tmp/payload of=/dev/xvda bs=1048576 seek=5 count=1 conv=notrunc 2>/dev/null',
          'sync',
          'sha256sum < /tmp/payload',
        ].join('; '),
      });
      const [size, digest] = written.trim().split('\n');
      expect(Number(size)).toBe(32 * 1024 * 1024);
      await ns.deletePod('writer');

      const read = await ns.run('reader', {
        claim: 'disk',
        block: true,
        script: 'dd if=/dev/xvda bs=1048576 skip=5 count=1 2>/dev/null | sha256sum',
      });
      expect(read.trim()).toBe(digest);
      await ns.deletePod('reader');
    }));
});
