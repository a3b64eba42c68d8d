import { describe, expect, it } from 'vitest';
import { DEFAULTS, describeDeployment } from './checks';
import { CHART, haveTools, helm, helmTemplate, kustomize, NEEDS_TOOLS } from './manifests';
import { expectSameSubstance } from './same-substance';

const skip = !haveTools;
const K0S = '/var/lib/k0s/kubelet';

describeDeployment(`helm chart, single-node${NEEDS_TOOLS}`, () => helmTemplate(), { ...DEFAULTS, form: 'single-node', attach: true }, skip);
describeDeployment(`helm chart, single-node without attach${NEEDS_TOOLS}`, () => helmTemplate({ attach: 'false' }), {
  ...DEFAULTS,
  form: 'single-node',
  attach: false,
}, skip);
describeDeployment(`helm chart, distributed${NEEDS_TOOLS}`, () => helmTemplate({ form: 'distributed' }), {
  ...DEFAULTS,
  form: 'distributed',
  attach: false,
}, skip);
describeDeployment(
  `helm chart, another driver name, data dir and kubelet dir${NEEDS_TOOLS}`,
  () => helmTemplate({ driverName: 'local.example.com', dataDir: '/srv/csi', kubeletDir: K0S, form: 'distributed' }),
  { form: 'distributed', attach: false, driverName: 'local.example.com', dataDir: '/srv/csi', kubeletDir: K0S },
  skip,
);

describe.skipIf(skip)(`helm chart against the kustomize forms${NEEDS_TOOLS}`, () => {
  it('renders what the single-node overlay does', () => {
    expectSameSubstance(helmTemplate(), kustomize('deploy/kubernetes/overlays/single-node'));
  });

  it('renders what the single-node-no-attach overlay does with attach=false', () => {
    expectSameSubstance(helmTemplate({ attach: 'false' }), kustomize('deploy/kubernetes/overlays/single-node-no-attach'));
  });

  it('renders what the single-node-health overlay does with sidecars.healthMonitor.enabled=true', () => {
    expectSameSubstance(helmTemplate({ 'sidecars.healthMonitor.enabled': 'true' }), kustomize('deploy/kubernetes/overlays/single-node-health'));
  });

  it('renders what the single-node-group-snapshots overlay does with groupSnapshots.enabled=true', () => {
    expectSameSubstance(helmTemplate({ 'groupSnapshots.enabled': 'true' }), kustomize('deploy/kubernetes/overlays/single-node-group-snapshots'));
  });

  it('never turns group snapshots on in the distributed form, even when asked to', () => {
    const objects = helmTemplate({ form: 'distributed', 'groupSnapshots.enabled': 'true' });
    expect(JSON.stringify(objects)).not.toContain('CSIVolumeGroupSnapshot');
    expect(objects.filter((o) => o.kind === 'VolumeGroupSnapshotClass')).toEqual([]);
  });

  it('never runs the health monitor in the distributed form, even when asked to', () => {
    const objects = helmTemplate({ form: 'distributed', 'sidecars.healthMonitor.enabled': 'true' });
    expect(objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'csi-external-health-monitor-controller')).toEqual([]);
    expect(JSON.stringify(objects)).not.toContain('csi-external-health-monitor-controller:');
  });

  it('renders what the distributed overlay does with form=distributed', () => {
    expectSameSubstance(helmTemplate({ form: 'distributed' }), kustomize('deploy/kubernetes/overlays/distributed'));
  });

  it('renders what the kubelet-dir component does with kubeletDir', () => {
    for (const form of ['single-node', 'distributed']) {
      expectSameSubstance(helmTemplate({ form, kubeletDir: K0S }), kustomize(`test/deploy/fixtures/kubelet-dir/${form}`));
    }
  });
});

describe.skipIf(skip)(`helm chart values${NEEDS_TOOLS}`, () => {
  it('lints clean in both forms', () => {
    for (const form of ['single-node', 'distributed']) {
      const { status, output } = helm(['lint', CHART, '--strict', '--kube-version', '1.34.0', '--set', `form=${form}`]);
      expect(status, output).toBe(0);
      expect(output).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });

  it('refuses an unknown form', () => {
    const { status, output } = helm(['template', 'x', CHART, '--kube-version', '1.34.0', '--set', 'form=cluster']);
    expect(status).not.toBe(0);
    // values.schema.json refuses it before the template's own check would.
    expect(output).toContain("at '/form'");
  });

  it('refuses Kubernetes older than 1.34 (the provisioner and resizer need storage.k8s.io/v1 VolumeAttributesClass)', () => {
    const { status, output } = helm(['template', 'x', CHART, '--kube-version', '1.33.0']);
    expect(status).not.toBe(0);
    expect(output).toContain('kubeVersion');
  });

  it('makes the classes the cluster defaults when asked', () => {
    const objects = helmTemplate({ 'storageClass.isDefault': 'true', 'volumeSnapshotClass.isDefault': 'true' });
    const sc = objects.find((o) => o.kind === 'StorageClass' && o.metadata.name === 'hostpath-csi')!;
    const vsc = objects.find((o) => o.kind === 'VolumeSnapshotClass')!;
    expect(sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class']).toBe('true');
    expect(vsc.metadata.annotations?.['snapshot.storage.kubernetes.io/is-default-class']).toBe('true');
  });

  it('passes the log level to the driver and the verbosity to the sidecars', () => {
    const objects = helmTemplate({ logLevel: 'debug', sidecarLogVerbosity: '5' });
    const pod = (objects.find((o) => o.kind === 'StatefulSet') as unknown as { spec: { template: { spec: { containers: { name: string; args: string[] }[] } } } })
      .spec.template.spec;
    for (const c of pod.containers) {
      if (c.name === 'hostpath-csi') expect(c.args).toContain('--log-level=debug');
      else if (c.name !== 'liveness-probe') expect(c.args, c.name).toContain('--v=5');
    }
  });

  it('leaves out the classes when told to', () => {
    const kinds = helmTemplate({
      'storageClass.create': 'false',
      'storageClass.quota.create': 'false',
      'storageClass.image.create': 'false',
      'volumeSnapshotClass.create': 'false',
    }).map((o) => o.kind);
    expect(kinds).not.toContain('StorageClass');
    expect(kinds).not.toContain('VolumeSnapshotClass');
  });

  it('makes the image class with the filesystem asked for, and only the classes asked for', () => {
    const objects = helmTemplate({ 'storageClass.quota.create': 'false', 'storageClass.image.fsType': 'xfs' });
    const classes = objects.filter((o) => o.kind === 'StorageClass');
    expect(classes.map((c) => c.metadata.name).sort()).toEqual(['hostpath-csi', 'hostpath-csi-image']);
    expect(classes.find((c) => c.metadata.name === 'hostpath-csi-image')!['parameters']).toEqual({ sizeLimit: 'image', 'csi.storage.k8s.io/fstype': 'xfs' });
  });
});
