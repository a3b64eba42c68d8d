import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseYaml, type K8sObject } from '../../../deploy/manifests';
import { cluster, kubeletGet, REPO, waitFor } from '../lib/cluster';
import { nodeExists, nodeReaddir } from '../lib/node-files';
import { overlayForSuite } from '../lib/suite';
import { inNamespace } from '../lib/workloads';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const EPHEMERAL_DIR = path.join(cluster.stateDir, 'ephemeral');
const EXAMPLE = path.join(REPO, 'examples', 'ephemeral-pod-image.yaml');
const POD = 'hostpath-ephemeral-image-pod';

/** The example's pod, on the host's network with the cluster's test image (no pod network, no registry here). */
async function examplePod(): Promise<K8sObject> {
  const pod = parseYaml(await readFile(EXAMPLE, 'utf8')).find((o) => o.kind === 'Pod') as K8sObject & { spec: { hostNetwork?: boolean; containers: { image: string; imagePullPolicy?: string }[] } };
  pod.spec.hostNetwork = true;
  for (const c of pod.spec.containers) Object.assign(c, { image: cluster.testImage, imagePullPolicy: 'Never' });
  return pod;
}

interface Summary {
  pods: { podRef: { name: string; namespace: string }; volume?: { name: string; capacityBytes?: number }[] }[];
}

/**
 * Loop devices backed by an inline volume's image. Matched on the path's tail: the driver attached it from inside its
 * container, and the kernel reports the path as that mount namespace saw it.
 */
async function loopsOf(volumeId: string): Promise<string[]> {
  const { stdout } = await run('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE']);
  return stdout.split('\n').filter((l) => l.includes(`/ephemeral/${volumeId}/disk.img`));
}

/** Host mounts that name the volume (its target under kubelet's pods directory, or its image's mount). */
async function mountsOf(volumeId: string): Promise<string[]> {
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.includes(volumeId));
}

// Local cluster only (losetup and mountinfo read on this host). The driver runs as a pod (the single-node overlay,
// the image scripts/build-image.sh built), so the loop device and the filesystem's mount are made from inside a
// container, as on a real node.
describe('a CSI inline volume with sizeLimit image (examples/ephemeral-pod-image.yaml), the driver as a pod (single-node overlay)', () => {
  overlayForSuite('single-node');

  it('gives the pod a 64Mi filesystem of its own that refuses a 100Mi write, and leaves nothing once the pod is gone', () =>
    inNamespace('inline-image', 300_000, async (ns) => {
      const before = await nodeReaddir(EPHEMERAL_DIR);
      await ns.create(await examplePod());
      await ns.waitPodPhase(POD, ['Running']);
      const created = (await nodeReaddir(EPHEMERAL_DIR)).filter((v) => !before.includes(v));
      expect(created).toHaveLength(1);
      const volumeId = created[0]!;
      expect(await nodeExists(path.join(EPHEMERAL_DIR, volumeId, 'disk.img'))).toBe(true);
      expect(await loopsOf(volumeId)).toHaveLength(1);

      // df inside the pod: the image's own ext4, at most 64Mi (its journal and metadata take a few MiB of it).
      const df = (await ns.exec(POD, 'df -k /scratch | tail -1')).trim().split(/\s+/);
      const totalBytes = Number(df[1]) * 1024;
      expect(totalBytes).toBeLessThanOrEqual(64 * MiB);
      expect(totalBytes).toBeGreaterThan(48 * MiB);

      const write = await ns.exec(POD, 'if dd if=/dev/zero of=/scratch/big bs=1048576 count=100 2>/tmp/err; then echo wrote; else cat /tmp/err; fi');
      expect(write).toMatch(/No space left on device/);
      const written = Number((await ns.exec(POD, 'wc -c < /scratch/big')).trim());
      expect(written).toBeLessThan(64 * MiB);

      // NodeGetVolumeStats answers statfs of the image's filesystem: kubelet's summary shows the same total as df.
      const capacity = await waitFor("kubelet to report the inline volume's capacity", async () => {
        const summary = JSON.parse(await kubeletGet('/stats/summary')) as Summary;
        const p = summary.pods.find((x) => x.podRef.namespace === ns.name && x.podRef.name === POD);
        return p?.volume?.find((v) => v.name === 'scratch')?.capacityBytes;
      }, 60_000);
      expect(capacity).toBe(totalBytes);

      await ns.deletePod(POD);
      await waitFor('the inline image volume to be deleted with its pod', async () => !(await nodeExists(path.join(EPHEMERAL_DIR, volumeId))), 60_000);
      expect(await loopsOf(volumeId)).toEqual([]);
      expect(await mountsOf(volumeId)).toEqual([]);
    }));
});
