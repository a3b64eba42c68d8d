import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, describeDeployment } from './checks';
import { haveTools, kustomize, NEEDS_TOOLS, OVERLAYS, PACKAGE_VERSION, ROOT } from './manifests';

const skip = !haveTools;

describeDeployment(`kustomize overlay single-node${NEEDS_TOOLS}`, () => kustomize('deploy/kubernetes/overlays/single-node'), {
  ...DEFAULTS,
  form: 'single-node',
  attach: true,
}, skip);

describeDeployment(
  `kustomize overlay single-node-no-attach${NEEDS_TOOLS}`,
  () => kustomize('deploy/kubernetes/overlays/single-node-no-attach'),
  { ...DEFAULTS, form: 'single-node', attach: false },
  skip,
);

describeDeployment(
  `kustomize overlay single-node-health${NEEDS_TOOLS}`,
  () => kustomize('deploy/kubernetes/overlays/single-node-health'),
  { ...DEFAULTS, form: 'single-node', attach: true },
  skip,
);

describeDeployment(
  `kustomize overlay single-node-group-snapshots${NEEDS_TOOLS}`,
  () => kustomize('deploy/kubernetes/overlays/single-node-group-snapshots'),
  { ...DEFAULTS, form: 'single-node', attach: true },
  skip,
);

describe.skipIf(skip)(`kustomize overlay single-node-group-snapshots, what it adds${NEEDS_TOOLS}`, () => {
  it('turns on the gate in csi-snapshotter only and adds the VolumeGroupSnapshotClass for the driver', () => {
    const objects = kustomize('deploy/kubernetes/overlays/single-node-group-snapshots');
    const pod = objects.find((o) => o.kind === 'StatefulSet') as unknown as { spec: { template: { spec: { containers: { name: string; args: string[] }[] } } } };
    const gated = pod.spec.template.spec.containers.filter((c) => c.args.includes('--feature-gates=CSIVolumeGroupSnapshot=true')).map((c) => c.name);
    expect(gated).toEqual(['csi-snapshotter']);
    const classes = objects.filter((o) => o.kind === 'VolumeGroupSnapshotClass');
    expect(classes.map((c) => [c.apiVersion, c.metadata.name, (c as unknown as { driver: string }).driver])).toEqual([['groupsnapshot.storage.k8s.io/v1', 'hostpath-csi', 'hostpath.csi.dev']]);
  });

  it('leaves the plain single-node form without the gate or the class', () => {
    const text = JSON.stringify(kustomize('deploy/kubernetes/overlays/single-node'));
    expect(text).not.toContain('CSIVolumeGroupSnapshot');
    expect(text).not.toContain('VolumeGroupSnapshotClass');
  });
});

describeDeployment(`kustomize overlay distributed${NEEDS_TOOLS}`, () => kustomize('deploy/kubernetes/overlays/distributed'), {
  ...DEFAULTS,
  form: 'distributed',
  attach: false,
}, skip);

for (const form of ['single-node', 'distributed'] as const) {
  describeDeployment(
    `kustomize ${form} with the kubelet-dir component${NEEDS_TOOLS}`,
    () => kustomize(`test/deploy/fixtures/kubelet-dir/${form}`),
    { ...DEFAULTS, form, attach: form === 'single-node', kubeletDir: '/var/lib/k0s/kubelet' },
    skip,
  );
}

describe.skipIf(skip)(`kustomize overlays, all of them${NEEDS_TOOLS}`, () => {
  it('each puts its namespace first-class: a Namespace that allows privileged pods, holding every namespaced object', () => {
    for (const overlay of OVERLAYS) {
      const objects = kustomize(`deploy/kubernetes/overlays/${overlay}`);
      const nsObj = objects.find((o) => o.kind === 'Namespace');
      expect(nsObj?.metadata.labels?.['pod-security.kubernetes.io/enforce'], overlay).toBe('privileged');
      const clusterScoped = new Set(['Namespace', 'CSIDriver', 'StorageClass', 'VolumeSnapshotClass', 'VolumeGroupSnapshotClass', 'ClusterRole', 'ClusterRoleBinding']);
      for (const o of objects) {
        if (clusterScoped.has(o.kind)) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBeUndefined();
        else expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(nsObj?.metadata.name);
      }
    }
  });

  it('each has one object of a kind and name (nothing rendered twice)', () => {
    for (const overlay of OVERLAYS) {
      const keys = kustomize(`deploy/kubernetes/overlays/${overlay}`).map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`);
      expect(new Set(keys).size, overlay).toBe(keys.length);
    }
  });
});

describe('versions', () => {
  it('the overlays, the chart and package.json name the same version', () => {
    const chart = readFileSync(path.join(ROOT, 'deploy/helm/hostpath-csi/Chart.yaml'), 'utf8');
    expect(/^version: (\S+)$/m.exec(chart)?.[1]).toBe(PACKAGE_VERSION);
    expect(/^appVersion: "(\S+)"$/m.exec(chart)?.[1]).toBe(PACKAGE_VERSION);
    for (const overlay of ['single-node', 'single-node-health', 'single-node-group-snapshots', 'distributed']) {
      const k = readFileSync(path.join(ROOT, `deploy/kubernetes/overlays/${overlay}/kustomization.yaml`), 'utf8');
      expect(/app\.kubernetes\.io\/version: "(\S+)"/.exec(k)?.[1], overlay).toBe(PACKAGE_VERSION);
    }
  });
});
