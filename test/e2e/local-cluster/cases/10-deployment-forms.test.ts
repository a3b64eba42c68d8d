import { describe, expect, it } from 'vitest';
import { parseQuantity } from '../../../../src/validate/quantity';
import { call, connectCsi } from '../../../helpers/csi-client';
import { cluster, kubectlJson, waitFor } from '../lib/cluster';
import { driverSocket, ensureForm, type Form } from '../lib/deployment';
import type { Plan } from '../lib/plan';
import { inNamespace, pvc, snapshotReady, volumeSnapshot, type CaseNamespace } from '../lib/workloads';

/**
 * The other deployment forms of deploy/kubernetes, each run with its own containers' arguments (single-node is the
 * form every other case uses). What each form has decides what is checked: attach or not (CSIDriver
 * attachRequired), capacity tracking (CSIDriver storageCapacity), snapshots (a csi-snapshotter), expansion (a
 * csi-resizer and a StorageClass that allows it).
 */
const FORMS: Form[] = ['single-node-no-attach', 'distributed'];
const TOPOLOGY_KEY = 'topology.hostpath.csi.dev/node';
/** Free space moves while other work shares the disk; CSIStorageCapacity is refreshed on a poll interval. */
const CAPACITY_TOLERANCE = 0.05;

interface CsiDriverSpec {
  spec: { attachRequired: boolean; storageCapacity: boolean };
}
interface StorageClassSpec {
  allowVolumeExpansion?: boolean;
}
interface Capacity {
  storageClassName: string;
  capacity?: string;
  maximumVolumeSize?: string;
  nodeTopology?: { matchLabels?: Record<string, string> };
}

const hasProcess = (plan: Plan, name: string) => plan.processes.some((p) => p.name === name);

async function roundTrip(ns: CaseNamespace, attachRequired: boolean): Promise<void> {
  await ns.create(pvc('data'));
  // Not waitBound: with WaitForFirstConsumer the claim binds only once the pod is scheduled.
  await ns.startPod('user', { claim: 'data' });
  await ns.exec('user', 'echo form-data > /data/f; sync');
  const pv = await ns.pvOf('data');
  const attachments = await kubectlJson<{ items: { spec: { source: { persistentVolumeName?: string } } }[] }>(['get', 'volumeattachments']);
  const attached = attachments.items.some((a) => a.spec.source.persistentVolumeName === pv.metadata.name);
  expect(attached, 'a VolumeAttachment exists exactly when the CSIDriver requires attach').toBe(attachRequired);
  await ns.deletePod('user');
  expect(await ns.run('reader', { claim: 'data', script: 'cat /data/f' })).toBe('form-data\n');
  await ns.deletePod('reader');
}

async function snapshotRoundTrip(ns: CaseNamespace): Promise<void> {
  await ns.create(volumeSnapshot('snap', 'data'));
  await snapshotReady(ns, 'snap');
  await ns.create(pvc('restored', { dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'snap' } }));
  expect(await ns.run('restored-reader', { claim: 'restored', script: 'cat /data/f' })).toBe('form-data\n');
  await ns.deletePod('restored-reader');
}

/** Online, with a pod using the claim: node-driven expansion (the distributed form) finishes only on a node. */
async function expansion(ns: CaseNamespace): Promise<void> {
  await ns.startPod('grower', { claim: 'data' });
  await ns.kubectl(['patch', 'pvc', 'data', '--type=merge', '-p', '{"spec":{"resources":{"requests":{"storage":"128Mi"}}}}']);
  await ns.waitFor('PVC data to report 128Mi', async () => {
    const c = await ns.get<{ status: { capacity?: { storage?: string } } }>('pvc', 'data');
    return c.status.capacity?.storage === '128Mi';
  });
  expect(await ns.exec('grower', 'cat /data/f')).toBe('form-data\n');
  await ns.deletePod('grower');
}

function near(actual: bigint, expected: bigint): boolean {
  const diff = Number(actual > expected ? actual - expected : expected - actual);
  return diff <= Number(expected) * CAPACITY_TOLERANCE;
}

async function capacityMatchesGetCapacity(plan: Plan): Promise<void> {
  const ours = await waitFor('one CSIStorageCapacity for StorageClass hostpath-csi on this node', async () => {
    const all = await kubectlJson<{ items: Capacity[] }>(['get', 'csistoragecapacities', '-A']);
    const found = all.items.filter((c) => c.storageClassName === 'hostpath-csi' && c.nodeTopology?.matchLabels?.[TOPOLOGY_KEY] === cluster.nodeName);
    return found.length === 1 && found[0]!.capacity !== undefined && found;
  }, 120_000);
  const clients = connectCsi(driverSocket(plan));
  try {
    const answer = await call(clients.controller.GetCapacity.bind(clients.controller), {
      accessible_topology: { segments: { [TOPOLOGY_KEY]: cluster.nodeName } },
    });
    const published = parseQuantity(ours[0]!.capacity ?? '');
    expect(published, `capacity ${ours[0]!.capacity} vs GetCapacity ${answer.available_capacity}`).not.toBeNull();
    expect(near(published!, BigInt(answer.available_capacity)), `capacity ${ours[0]!.capacity} vs GetCapacity ${answer.available_capacity}`).toBe(true);
    const max = parseQuantity(ours[0]!.maximumVolumeSize ?? '');
    expect(near(max!, BigInt(answer.maximum_volume_size?.value ?? '0')), 'maximumVolumeSize').toBe(true);
  } finally {
    clients.close();
  }
}

describe.each(FORMS)('the %s form, with its own arguments', (form) => {
  it('provisions, mounts and keeps data; attaches, snapshots, expands and reports capacity as its manifests say', async () => {
    const plan = await ensureForm(form, 'processes');
    const driver = await kubectlJson<CsiDriverSpec>(['get', 'csidriver', 'hostpath.csi.dev']);
    const sc = await kubectlJson<StorageClassSpec>(['get', 'storageclass', 'hostpath-csi']);
    await inNamespace(`form-${form}`, 360_000, async (ns) => {
      await roundTrip(ns, driver.spec.attachRequired);
      if (hasProcess(plan, 'csi-snapshotter')) await snapshotRoundTrip(ns);
      if (hasProcess(plan, 'csi-resizer') && sc.allowVolumeExpansion) await expansion(ns);
    });
    if (driver.spec.storageCapacity) await capacityMatchesGetCapacity(plan);
  });
});
