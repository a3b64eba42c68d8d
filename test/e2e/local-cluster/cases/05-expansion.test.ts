import { beforeAll, describe, expect, it } from 'vitest';
import { ensureForm } from '../lib/deployment';
import { inNamespace, pvc, type CaseNamespace } from '../lib/workloads';

/**
 * Online expansion, per kind of volume. Each kind says how a pod sees its size (if it can) and whether the size
 * is enforced; an enforced kind must accept writes past the old size after expansion and refuse writes past the
 * new one. To cover another kind (a StorageClass parameter choosing quota or image volumes), add a row.
 */
interface ExpansionKind {
  title: string;
  volumeMode: 'Filesystem' | 'Block';
  /** The StorageClass: the deploy/ one unless a kind needs parameters of its own. */
  storageClass?: string;
  /** Shell that prints the size the pod sees, in bytes; none where the pod cannot see it (recorded sizes). */
  sizeInPod?: string;
  /** Shell that writes 1 MiB ending at the given MiB offset of the volume; exits non-zero if it does not fit. */
  writeEndingAt?: (mib: number) => string;
}

const MiB = 1024 * 1024;
const OLD = 64;
const NEW = 128;

const KINDS: ExpansionKind[] = [
  {
    title: 'a block volume (an image file: exactly its size)',
    volumeMode: 'Block',
    sizeInPod: 'blockdev --getsize64 /dev/xvda',
    writeEndingAt: (mib) => `dd if=/dev/zero of=/dev/xvda bs=1048576 seek=${mib - 1} count=1 conv=notrunc 2>&1`,
  },
  {
    title: 'a filesystem volume (a directory: its size is recorded, not enforced)',
    volumeMode: 'Filesystem',
  },
];

async function sizeSeen(ns: CaseNamespace, kind: ExpansionKind): Promise<number> {
  return Number((await ns.exec('user', kind.sizeInPod!)).trim());
}

async function expectWriteEndingAt(ns: CaseNamespace, kind: ExpansionKind, mib: number, fits: boolean): Promise<void> {
  const outcome = await ns.exec('user', `if ${kind.writeEndingAt!(mib)}; then echo fits; else echo refused; fi`);
  expect(outcome.trim().split('\n').pop(), `writing 1 MiB ending at ${mib} MiB`).toBe(fits ? 'fits' : 'refused');
}

describe('online expansion while the pod runs', () => {
  beforeAll(() => ensureForm('single-node'));

  for (const kind of KINDS) {
    it(`grows ${kind.title} from ${OLD}Mi to ${NEW}Mi`, () =>
      inNamespace('expand', 300_000, async (ns) => {
        await ns.create(pvc('data', { size: `${OLD}Mi`, volumeMode: kind.volumeMode, ...(kind.storageClass ? { storageClass: kind.storageClass } : {}) }));
        await ns.waitBound('data');
        await ns.startPod('user', { claim: 'data', block: kind.volumeMode === 'Block' });
        if (kind.sizeInPod) expect(await sizeSeen(ns, kind)).toBe(OLD * MiB);
        if (kind.writeEndingAt) await expectWriteEndingAt(ns, kind, OLD + 1, false);

        await ns.kubectl(['patch', 'pvc', 'data', '--type=merge', '-p', JSON.stringify({ spec: { resources: { requests: { storage: `${NEW}Mi` } } } })]);
        await ns.waitFor(`PVC data to report ${NEW}Mi`, async () => {
          const c = await ns.get<{ status: { capacity?: { storage?: string }; allocatedResourceStatuses?: Record<string, string> } }>('pvc', 'data');
          return c.status.capacity?.storage === `${NEW}Mi` && Object.keys(c.status.allocatedResourceStatuses ?? {}).length === 0;
        });
        expect((await ns.pvOf('data')).spec.capacity.storage).toBe(`${NEW}Mi`);

        // The pod kept running through the expansion and sees the new size.
        expect(await ns.get<{ status: { phase: string } }>('pod', 'user')).toMatchObject({ status: { phase: 'Running' } });
        if (kind.sizeInPod) expect(await sizeSeen(ns, kind)).toBe(NEW * MiB);
        if (kind.writeEndingAt) {
          await expectWriteEndingAt(ns, kind, NEW, true);
          await expectWriteEndingAt(ns, kind, NEW + 1, false);
        } else {
          expect(await ns.exec('user', 'echo still-writable > /data/f && cat /data/f')).toBe('still-writable\n');
        }
        await ns.deletePod('user');
      }));
  }
});
