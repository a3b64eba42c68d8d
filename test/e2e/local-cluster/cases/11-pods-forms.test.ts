import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cluster, kubectl } from '../lib/cluster';
import { DRIVER_NAME, FORMS } from '../lib/deployment';
import { type Installation, PLUGIN_NAMESPACE, installChart, installOverlay, pluginPods, renderedImages } from '../lib/pods';
import { inNamespace, pvc } from '../lib/workloads';

/** The StorageClasses and VolumeSnapshotClasses of this driver, as name=driver. */
async function driverClasses(): Promise<string[]> {
  const out = await kubectl(['get', 'storageclass,volumesnapshotclass', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.provisioner}{.driver}{"\\n"}{end}']);
  return out.split('\n').filter((l) => l.endsWith(`=${DRIVER_NAME}`));
}

const installs: [string, () => Promise<Installation>][] = [
  ...FORMS.map((form): [string, () => Promise<Installation>] => [`the ${form} overlay (kubectl apply -k)`, () => installOverlay(form)]),
  ['the chart (helm install)', installChart],
];

// Each overlay and the chart as pods: the driver image built from the Dockerfile and the sidecar images, started by
// kubelet through containerd and runc. Runs after the host-process cases (it takes their form down first).
describe.each(installs)('%s as pods', (_label, install) => {
  let installed: Installation | undefined;
  let removed = false;
  beforeAll(async () => {
    installed = await install();
  });
  afterAll(async () => {
    if (!removed && installed) await installed.remove();
  });

  it('runs every container of the manifest, ready, from the images deploy/ names; the driver privileged', async () => {
    const [pod] = await pluginPods();
    const expected = renderedImages(await installed!.rendered());
    expect(expected).toContain('ghcr.io/hostpath-csi/hostpath-csi:0.1.0');
    expect(expected).toContain('registry.k8s.io/sig-storage/livenessprobe:v2.19.0');
    expect(pod!.spec.containers.map((c) => c.image).sort()).toEqual(expected);
    expect(pod!.status.containerStatuses!.filter((c) => c.ready).length).toBe(expected.length);
    expect(pod!.spec.containers.find((c) => c.name === 'hostpath-csi')?.securityContext?.privileged).toBe(true);
    const version = await kubectl(['-n', PLUGIN_NAMESPACE, 'exec', pod!.metadata.name, '-c', 'hostpath-csi', '--', 'node', '/app/dist/main.js', '--version']);
    expect(version.trim()).toMatch(/\d+\.\d+\.\d+/);
  });

  it('answers the liveness probe through the livenessprobe sidecar (CSI Probe over the socket)', async () => {
    const res = await fetch('http://127.0.0.1:9898/healthz');
    expect(res.status).toBe(200);
  });

  it('provisions, mounts (Bidirectional propagation into the pod) and deletes a volume', () =>
    inNamespace('pods-round-trip', 240_000, async (ns) => {
      await ns.create(pvc('data'));
      // A consumer first: the distributed form's StorageClass binds on first use.
      const written = await ns.run('writer', {
        claim: 'data',
        script: 'head -c 1048576 /dev/urandom > /data/payload; sync; sha256sum /data/payload',
      });
      const pv = await ns.waitBound('data');
      const dataDir = path.join(cluster.stateDir, 'volumes', pv.spec.csi.volumeHandle);
      const onHost = createHash('sha256').update(await readFile(path.join(dataDir, 'payload'))).digest('hex');
      expect(written.split(' ')[0]).toBe(onHost);
      await ns.deletePod('writer');
      await ns.deletePvc('data');
      await ns.waitPvGone(pv.metadata.name);
      expect(existsSync(dataDir)).toBe(false);
    }));

  it('removing it (kubectl delete -k, helm uninstall) leaves no pods, RBAC, CSIDriver or classes, and keeps the state and socket directories on the node', async () => {
    const rbac = ['get', 'clusterrole,clusterrolebinding,role,rolebinding', '-A', '-l', 'app.kubernetes.io/part-of=hostpath-csi', '-o', 'name'];
    expect((await kubectl(rbac)).trim()).not.toBe(''); // the selector finds what was deployed
    expect(await driverClasses()).not.toEqual([]);
    await installed!.remove();
    removed = true;
    expect((await kubectl(['get', 'namespace', PLUGIN_NAMESPACE, '--ignore-not-found', '-o', 'name'])).trim()).toBe('');
    expect((await kubectl(rbac)).trim()).toBe('');
    expect((await kubectl(['get', 'csidriver', DRIVER_NAME, '--ignore-not-found', '-o', 'name'])).trim()).toBe('');
    expect(await driverClasses()).toEqual([]);
    // What docs/kubernetes.md ("Uninstalling") says stays on every node: nothing in the cluster removes host
    // directories.
    expect(existsSync(cluster.stateDir)).toBe(true);
    expect(existsSync(path.join(cluster.kubeletDir, 'plugins', DRIVER_NAME))).toBe(true);
  });
});
