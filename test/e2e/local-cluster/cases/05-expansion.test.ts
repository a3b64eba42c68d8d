import { beforeAll, describe, expect, it } from 'vitest';
import { cluster, kubectlJson } from '../lib/cluster';
import { ensureForm } from '../lib/deployment';
import { inNamespace, pvc, storageClass as storageClassOf, type CaseNamespace } from '../lib/workloads';

/**
 * Online expansion, per kind of volume. Each kind says how a pod sees its size (if it can) and whether the size
 * is enforced; an enforced kind must accept writes past the old size after expansion and refuse writes past the
 * new one. To cover another kind (a StorageClass parameter choosing it, e.g. sizeLimit: quota), add a row.
 * Against the pods deployment, the block and image rows are the loop devices made, grown (losetup -c) and the ext4
 * resized (resize2fs) inside the driver's container, through its hostPath /dev.
 */
interface ExpansionKind {
  title: string;
  volumeMode: 'Filesystem' | 'Block';
  /** StorageClass parameters of a class the case makes; none: the deploy/ one. */
  parameters?: Record<string, string>;
  /** Shell that prints the size the pod sees, in bytes; none where the pod cannot see it (recorded sizes). */
  sizeInPod?: string;
  /**
   * A filesystem of its own (an image): shell that prints its size in bytes, which is the volume's size less the
   * filesystem's own overhead, so it is checked to lie within (FS_OVERHEAD * size, size].
   */
  fsSizeInPod?: string;
  /**
   * The filesystem may only grow at the next NodeStageVolume: resize2fs of a mounted ext4 needs CAP_SYS_RESOURCE,
   * which this CI machine withholds even from root (so from the privileged driver container), and the driver then
   * answers NodeExpandVolume FAILED_PRECONDITION and grows it offline at the next stage (src/node/image.ts). The
   * case restarts the pod once the controller has grown the image, which checks the same size either way.
   */
  mayGrowAtNextStage?: boolean;
  /**
   * Shell that writes data reaching the given MiB of the volume (a device: 1 MiB ending there; a filesystem: a file
   * of that many MiB); exits non-zero if it does not fit.
   */
  writeEndingAt?: (mib: number) => string;
}

const MiB = 1024 * 1024;
const OLD = 64;
const NEW = 128;
/** ext4's own metadata (journal, inode tables) in a 64-128 MiB image is well under a quarter of it. */
const FS_OVERHEAD = 0.75;

const KINDS: ExpansionKind[] = [
  {
    title: 'a block volume (an image file: exactly its size)',
    volumeMode: 'Block',
    sizeInPod: 'blockdev --getsize64 /dev/xvda',
    writeEndingAt: (mib) => `dd if=/dev/zero of=/dev/xvda bs=1048576 seek=${mib - 1} count=1 conv=notrunc 2>&1`,
  },
  {
    title: 'an image volume (ext4 in an image file on a loop device: the filesystem is grown)',
    volumeMode: 'Filesystem',
    parameters: { sizeLimit: 'image' },
    fsSizeInPod: "df -k /data | awk 'NR == 2 { print $2 * 1024 }'",
    mayGrowAtNextStage: true,
    writeEndingAt: (mib) => `dd if=/dev/zero of=/data/fill bs=1048576 count=${mib} 2>&1 && sync`,
  },
  {
    title: 'a filesystem volume (a directory: its size is recorded, not enforced)',
    volumeMode: 'Filesystem',
  },
];

async function sizeSeen(ns: CaseNamespace, kind: ExpansionKind): Promise<number> {
  return Number((await ns.exec('user', kind.sizeInPod!)).trim());
}

async function restartAfterControllerExpansion(ns: CaseNamespace): Promise<void> {
  const pv = await ns.waitFor(`PV of data to be ${NEW}Mi (ControllerExpandVolume)`, async () => {
    const v = await ns.pvOf('data');
    return v.spec.capacity.storage === `${NEW}Mi` && v;
  });
  await ns.deletePod('user');
  // kubelet unstages (NodeUnstageVolume) only once no pod on the node uses the volume; it then drops the volume
  // from the node's volumesInUse. A new pod started before that would reuse the staging mount, not stage again.
  const unique = `kubernetes.io/csi/${pv.spec.csi.driver}^${pv.spec.csi.volumeHandle}`;
  await ns.waitFor('kubelet to unstage the volume', async () => {
    const node = await kubectlJson<{ status: { volumesInUse?: string[] } }>(['get', 'node', cluster.nodeName]);
    return !(node.status.volumesInUse ?? []).includes(unique);
  });
  await ns.startPod('user', { claim: 'data' });
}

async function expectFsSize(ns: CaseNamespace, kind: ExpansionKind, mib: number): Promise<void> {
  const size = Number((await ns.exec('user', kind.fsSizeInPod!)).trim());
  expect(size, `filesystem size for a ${mib} MiB volume`).toBeGreaterThan(FS_OVERHEAD * mib * MiB);
  expect(size, `filesystem size for a ${mib} MiB volume`).toBeLessThanOrEqual(mib * MiB);
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
        const storageClass = kind.parameters ? await ns.createClusterScoped(storageClassOf({ parameters: kind.parameters })) : undefined;
        await ns.create(pvc('data', { size: `${OLD}Mi`, volumeMode: kind.volumeMode, ...(storageClass ? { storageClass } : {}) }));
        await ns.waitBound('data');
        await ns.startPod('user', { claim: 'data', block: kind.volumeMode === 'Block' });
        if (kind.sizeInPod) expect(await sizeSeen(ns, kind)).toBe(OLD * MiB);
        if (kind.fsSizeInPod) await expectFsSize(ns, kind, OLD);
        if (kind.writeEndingAt) await expectWriteEndingAt(ns, kind, OLD + 1, false);

        await ns.kubectl(['patch', 'pvc', 'data', '--type=merge', '-p', JSON.stringify({ spec: { resources: { requests: { storage: `${NEW}Mi` } } } })]);
        if (kind.mayGrowAtNextStage) await restartAfterControllerExpansion(ns);
        await ns.waitFor(`PVC data to report ${NEW}Mi`, async () => {
          const c = await ns.get<{ status: { capacity?: { storage?: string }; allocatedResourceStatuses?: Record<string, string> } }>('pvc', 'data');
          return c.status.capacity?.storage === `${NEW}Mi` && Object.keys(c.status.allocatedResourceStatuses ?? {}).length === 0;
        });
        expect((await ns.pvOf('data')).spec.capacity.storage).toBe(`${NEW}Mi`);

        // The pod kept running through the expansion (or its successor runs) and sees the new size.
        expect(await ns.get<{ status: { phase: string } }>('pod', 'user')).toMatchObject({ status: { phase: 'Running' } });
        if (kind.sizeInPod) expect(await sizeSeen(ns, kind)).toBe(NEW * MiB);
        if (kind.fsSizeInPod) await expectFsSize(ns, kind, NEW);
        if (kind.writeEndingAt) {
          // Past the old end: up to the new end on a device; a filesystem's own metadata takes some of it.
          await expectWriteEndingAt(ns, kind, kind.fsSizeInPod ? OLD + 1 : NEW, true);
          await expectWriteEndingAt(ns, kind, NEW + 1, false);
        } else {
          expect(await ns.exec('user', 'echo still-writable > /data/f && cat /data/f')).toBe('still-writable\n');
        }
        await ns.deletePod('user');
      }));
  }
});
