import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cluster, kubectl, kubectlJson } from '../lib/cluster';
import { DRIVER_NAME } from '../lib/deployment';
import { PLUGIN_NAMESPACE, deletePods, deployPods } from '../lib/pods';
import { inNamespace, pvc } from '../lib/workloads';

// The single-node overlay as pods: the driver image built from the Dockerfile and the sidecar images, started by
// kubelet through containerd and runc. Runs after the host-process cases (it takes their form down first).
describe('the single-node overlay as pods (kubectl apply -k)', () => {
  let overlay = '';
  let deleted = false;
  beforeAll(async () => {
    overlay = await deployPods('single-node');
  });
  afterAll(async () => {
    if (!deleted && overlay) await deletePods(overlay);
  });

  it('runs every container of the manifest from the images deploy/ names, the driver privileged', async () => {
    const pod = await kubectlJson<{
      spec: { containers: { name: string; image: string; securityContext?: { privileged?: boolean } }[] };
      status: { containerStatuses: { name: string; ready: boolean; image: string }[] };
    }>(['-n', PLUGIN_NAMESPACE, 'get', 'pod', 'hostpath-csi-plugin-0']);
    expect(pod.spec.containers.map((c) => `${c.name}=${c.image}`).sort()).toEqual([
      'csi-attacher=registry.k8s.io/sig-storage/csi-attacher:v4.12.0',
      'csi-provisioner=registry.k8s.io/sig-storage/csi-provisioner:v6.3.0',
      'csi-resizer=registry.k8s.io/sig-storage/csi-resizer:v2.2.1',
      'csi-snapshotter=registry.k8s.io/sig-storage/csi-snapshotter:v8.6.0',
      'hostpath-csi=ghcr.io/hostpath-csi/hostpath-csi:0.1.0',
      'liveness-probe=registry.k8s.io/sig-storage/livenessprobe:v2.19.0',
      'node-driver-registrar=registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.17.0',
    ]);
    expect(pod.status.containerStatuses.every((c) => c.ready)).toBe(true);
    expect(pod.spec.containers.find((c) => c.name === 'hostpath-csi')?.securityContext?.privileged).toBe(true);
    // The driver inside its container answers as the image's entrypoint does.
    const version = await kubectl(['-n', PLUGIN_NAMESPACE, 'exec', 'hostpath-csi-plugin-0', '-c', 'hostpath-csi', '--', 'node', '/app/dist/main.js', '--version']);
    expect(version.trim()).toMatch(/\d+\.\d+\.\d+/);
  });

  it('answers the liveness probe through the livenessprobe sidecar (CSI Probe over the socket)', async () => {
    const res = await fetch('http://127.0.0.1:9898/healthz');
    expect(res.status).toBe(200);
  });

  it('provisions, mounts (Bidirectional propagation into the pod) and deletes a volume', () =>
    inNamespace('pods-pvc', 240_000, async (ns) => {
      await ns.create(pvc('data'));
      const pv = await ns.waitBound('data');
      const dataDir = path.join(cluster.stateDir, 'volumes', pv.spec.csi.volumeHandle);
      expect(existsSync(dataDir)).toBe(true);
      const written = await ns.run('writer', {
        claim: 'data',
        script: 'head -c 1048576 /dev/urandom > /data/payload; sync; sha256sum /data/payload',
      });
      const onHost = createHash('sha256').update(await readFile(path.join(dataDir, 'payload'))).digest('hex');
      expect(written.split(' ')[0]).toBe(onHost);
      await ns.deletePod('writer');
      await ns.deletePvc('data');
      await ns.waitPvGone(pv.metadata.name);
      expect(existsSync(dataDir)).toBe(false);
    }));

  it('kubectl delete -k leaves no pods, RBAC or CSIDriver, and keeps the state directory on the host', async () => {
    const rbacSelector = ['clusterrole,clusterrolebinding,role,rolebinding', '-A', '-l', 'app.kubernetes.io/part-of=hostpath-csi', '-o', 'name'];
    expect((await kubectl(['get', ...rbacSelector])).trim()).not.toBe(''); // the selector finds what was deployed
    await deletePods(overlay);
    deleted = true;
    const namespaces = await kubectl(['get', 'namespace', PLUGIN_NAMESPACE, '--ignore-not-found', '-o', 'name']);
    expect(namespaces.trim()).toBe('');
    expect((await kubectl(['get', ...rbacSelector])).trim()).toBe('');
    const drivers = await kubectl(['get', 'csidriver', DRIVER_NAME, '--ignore-not-found', '-o', 'name']);
    expect(drivers.trim()).toBe('');
    expect(existsSync(cluster.stateDir)).toBe(true);
  });
});
