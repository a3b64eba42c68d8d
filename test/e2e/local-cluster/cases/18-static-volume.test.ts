import { mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cluster, create, kubectl } from '../lib/cluster';
import { COMPONENT_FORMS, DRIVER_NAME, ensureForm } from '../lib/deployment';
import { inNamespace, pod, type CaseNamespace } from '../lib/workloads';

/**
 * Static (pre-provisioned) volumes as examples/volume-roots/static-volume.yaml writes them, on the single-node form
 * with components/volume-roots (pods; its root moved under the e2e root, which teardown removes): an administrator's
 * directory with a known file, handed to a pod through a PV and a PVC, and never removed by the driver, whether the
 * PV is retained or deleted. A PV naming a path outside the root fails the pod's mount with the driver's own error.
 * The directories are made on this host (the node): the local cluster only, not kind.
 */
const ROOT_KEY = 'exports';
const ROOT = COMPONENT_FORMS['single-node-volume-roots'].replace[1];
const HOST_FILE = 'from-the-admin.txt';

/** The example's PV, for a directory under the root: Retain, or Delete with the annotation that hands it to csi-provisioner. */
function staticPv(name: string, dir: string, reclaim: 'Retain' | 'Delete'): object {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name,
      labels: { 'app.kubernetes.io/part-of': 'hostpath-csi-e2e' },
      // Without it csi-provisioner leaves a Delete PV alone (it deletes only PVs it provisioned): it stays Released.
      ...(reclaim === 'Delete' ? { annotations: { 'pv.kubernetes.io/provisioned-by': DRIVER_NAME } } : {}),
    },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: reclaim,
      storageClassName: '',
      csi: { driver: DRIVER_NAME, volumeHandle: `static.${name}`, volumeAttributes: { node: cluster.nodeName, root: ROOT_KEY, path: dir } },
      nodeAffinity: {
        required: { nodeSelectorTerms: [{ matchExpressions: [{ key: `topology.${DRIVER_NAME}/node`, operator: 'In', values: [cluster.nodeName] }] }] },
      },
    },
  };
}

function boundClaim(name: string, pv: string): object {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name },
    spec: { storageClassName: '', volumeName: pv, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  };
}

/** A host directory under the root holding one known file. */
async function adminDir(name: string): Promise<string> {
  const dir = path.join(ROOT, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, HOST_FILE), `left by the admin for ${name}\n`);
  return dir;
}

const pvNames: string[] = [];

/** A static PV and its claim in the case's namespace; the PV (cluster-scoped) is removed in afterAll if the case fails. */
async function createStatic(ns: CaseNamespace, suffix: string, dir: string, reclaim: 'Retain' | 'Delete'): Promise<string> {
  const pv = `${ns.name}-${suffix}`;
  pvNames.push(pv);
  await create([staticPv(pv, dir, reclaim)]);
  await ns.create(boundClaim(suffix, pv));
  await ns.waitBound(suffix);
  return pv;
}

async function pvPhase(pv: string): Promise<string> {
  return (await kubectl(['get', 'pv', pv, '-o', 'jsonpath={.status.phase}'])).trim();
}

describe('static volumes (examples/volume-roots/static-volume.yaml, components/volume-roots)', () => {
  beforeAll(async () => {
    // type Directory: the root must exist before the driver's pod can start.
    await mkdir(ROOT, { recursive: true });
    await ensureForm('single-node-volume-roots');
  }, 600_000);
  afterAll(async () => {
    if (pvNames.length) await kubectl(['delete', 'pv', '--ignore-not-found', '--wait=true', ...pvNames], undefined, 130_000);
    await rm(path.join(cluster.root, 'volume-roots'), { recursive: true, force: true });
  }, 150_000);

  it.each(['Retain', 'Delete'] as const)('reclaimPolicy %s: the pod reads the admin\'s file and writes its own; the host directory stays after pod, PVC and PV are gone', (reclaim) =>
    inNamespace(`static-${reclaim.toLowerCase()}`, 240_000, async (ns) => {
      const name = `media-${reclaim.toLowerCase()}-${ns.name.slice(-6)}`;
      const dir = await adminDir(name);
      const pv = await createStatic(ns, 'media', name, reclaim);

      const out = await ns.run('reader', { claim: 'media', script: `cat /data/${HOST_FILE}; echo written by the pod > /data/from-the-pod.txt` });
      expect(out).toBe(`left by the admin for ${name}\n`);
      expect(await readFile(path.join(dir, 'from-the-pod.txt'), 'utf8')).toBe('written by the pod\n');

      await ns.deletePod('reader');
      await ns.deletePvc('media');
      if (reclaim === 'Retain') {
        await ns.waitFor(`PV ${pv} to be Released`, async () => (await pvPhase(pv)) === 'Released');
        await kubectl(['delete', 'pv', pv, '--wait=true', '--timeout=120s'], undefined, 130_000);
      } else {
        // csi-provisioner calls DeleteVolume; for a static. handle the driver answers OK and touches nothing.
        await ns.waitPvGone(pv);
      }
      expect((await readdir(dir)).sort()).toEqual([HOST_FILE, 'from-the-pod.txt']);
      expect(await readFile(path.join(dir, HOST_FILE), 'utf8')).toBe(`left by the admin for ${name}\n`);
    }));

  it('a PV naming a path outside the root: the pod does not start and its FailedAttachVolume / FailedMount Event carries the driver\'s INVALID_ARGUMENT', () =>
    inNamespace('static-outside', 240_000, async (ns) => {
      // Two ways out of the root: '..' in the attribute, and a directory under the root that is a symlink to its parent.
      await symlink('..', path.join(ROOT, `escape-${ns.name}`));
      const dotdot = await createStatic(ns, 'dotdot', '../elsewhere', 'Retain');
      const link = await createStatic(ns, 'link', `escape-${ns.name}`, 'Retain');
      await ns.create(pod('dotdot-user', { claim: 'dotdot' }), pod('link-user', { claim: 'link' }));

      const [dotdotEvent, linkEvent] = await Promise.all([
        // Refused already at ControllerPublishVolume, which parses the attributes (the node check needs them).
        ns.waitForEvent('FailedAttachVolume', { kind: 'Pod', name: 'dotdot-user' }, 120_000),
        ns.waitForEvent('FailedMount', { kind: 'Pod', name: 'link-user' }, 120_000),
      ]);
      expect([dotdotEvent.type, linkEvent.type]).toEqual(['Warning', 'Warning']);
      expect(dotdotEvent.message).toContain(
        `rpc error: code = InvalidArgument desc = static volume static.${dotdot}: volumeAttributes path "../elsewhere" must be relative to its root, without '..'`,
      );
      expect(linkEvent.message).toContain(
        `rpc error: code = InvalidArgument desc = static volume static.${link}: ${path.join(ROOT, `escape-${ns.name}`)} resolves outside its root ${ROOT}`,
      );
      for (const p of ['dotdot-user', 'link-user']) expect((await ns.get<{ status: { phase: string } }>('pod', p)).status.phase).toBe('Pending');

      await ns.deletePod('dotdot-user');
      await ns.deletePod('link-user');
      for (const claim of ['dotdot', 'link']) await ns.deletePvc(claim);
      await kubectl(['delete', 'pv', dotdot, link, '--wait=true', '--timeout=120s'], undefined, 130_000);
      // The symlink's target, the root's parent, is untouched: still holding the root.
      expect(await readdir(path.dirname(ROOT))).toContain(ROOT_KEY);
    }));
});
