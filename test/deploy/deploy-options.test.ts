import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectSameSubstance } from './same-substance';
import { container, haveTools, helm, helmTemplate, CHART, kustomize, NEEDS_TOOLS, one, parseYaml, ROOT, workload, type K8sObject } from './manifests';
import { driverConfig } from './norms';

/** Options users set on top of the shipped forms: node pinning, image overrides, driver flags, pod metadata. */
const skip = !haveTools;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('kustomize patches', () => {
  it('never address a list entry by position (args/5-style): a reordering would silently patch the wrong entry', () => {
    for (const file of filesUnder(path.join(ROOT, 'deploy', 'kubernetes'))) {
      expect(readFileSync(file, 'utf8'), path.relative(ROOT, file)).not.toMatch(/path: \S*\/\d+(\/|\s|$)/);
    }
  });
});

describe.skipIf(skip)(`deploy options${NEEDS_TOOLS}`, () => {
  it('pins the single-node pod to one node: the documented kustomize patch and helm pinToNode render the same', () => {
    const pinned = kustomize('test/deploy/fixtures/pin-node');
    expect(workload(pinned).spec.template.spec['nodeSelector']).toEqual({ 'kubernetes.io/hostname': 'node-1' });
    expectSameSubstance(helmTemplate({ pinToNode: 'node-1' }), pinned);
  });

  it('refuses pinToNode in the distributed form', () => {
    const { status, output } = helm(['template', 'x', CHART, '--kube-version', '1.34.0', '--set', 'form=distributed', '--set', 'pinToNode=n']);
    expect(status).not.toBe(0);
    expect(output).toContain('pinToNode applies to the single-node form only');
  });

  it("overrides images through kustomize's images transformer, as docs/kubernetes.md shows", () => {
    const pod = workload(kustomize('test/deploy/fixtures/images')).spec.template.spec;
    expect(container(pod, 'hostpath-csi').image).toBe('registry.example.com/mirror/hostpath-csi:0.1.0-custom');
    expect(container(pod, 'csi-provisioner').image).toBe('registry.example.com/mirror/csi-provisioner:v6.3.0');
  });

  it('passes every driver setting from values to the driver, as its own parser reads them', () => {
    const pod = workload(
      helmTemplate({
        'driver.maxVolumeSize': '100Gi',
        'driver.defaultVolumeSize': '2Gi',
        'driver.maxVolumesPerNode': '40',
        'driver.mutableParameters': '{tier,iops}',
        'driver.logFormat': 'pretty',
        'driver.socketMode': '0600',
        logLevel: 'debug',
      }),
    ).spec.template.spec;
    const config = driverConfig(container(pod, 'hostpath-csi'));
    expect(config.maxVolumeSize).toBe(100n * 1024n ** 3n);
    expect(config.defaultVolumeSize).toBe(2n * 1024n ** 3n);
    expect(config.maxVolumesPerNode).toBe(40);
    expect([...config.mutableParameters].sort()).toEqual(['iops', 'tier']);
    expect(config.logFormat).toBe('pretty');
    expect(config.socketMode).toBe(0o600);
    expect(config.logLevel).toBe('debug');
  });

  it('adds image pull secrets, pod labels and annotations, affinity and a node selector to the pods', () => {
    for (const form of ['single-node', 'distributed']) {
      const w = workload(
        helmTemplate({
          form,
          'imagePullSecrets[0].name': 'regcred',
          'podLabels.team': 'storage',
          'podAnnotations.example\\.com/scrape': 'no',
          'nodeSelector.disk': 'ssd',
          'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key': 'disk',
          'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator': 'Exists',
        }),
      );
      const tmpl = w.spec.template as unknown as { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: Record<string, unknown> };
      expect(tmpl.spec['imagePullSecrets'], form).toEqual([{ name: 'regcred' }]);
      expect(tmpl.metadata.labels['team'], form).toBe('storage');
      expect(tmpl.metadata.labels['app.kubernetes.io/component'], form).toBeDefined();
      expect(tmpl.metadata.annotations, form).toEqual({ 'example.com/scrape': 'no' });
      expect(tmpl.spec['nodeSelector'], form).toEqual({ disk: 'ssd' });
      expect(tmpl.spec['affinity'], form).toEqual({
        nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'Exists' }] }] } },
      });
    }
  });
});

describe.skipIf(skip)(`helm values.schema.json${NEEDS_TOOLS}`, () => {
  const template = (...set: string[]) => helm(['template', 'x', CHART, '--kube-version', '1.34.0', ...set.flatMap((s) => ['--set', s])]);

  it('refuses a value the chart does not know (a misspelt key is not silently ignored)', () => {
    const { status, output } = template('driver.maxVolumeSzie=1Gi');
    expect(status).not.toBe(0);
    expect(output).toContain("additional properties 'maxVolumeSzie' not allowed");
  });

  it('refuses values of the wrong type or form', () => {
    for (const [set, where] of [
      ['driver.maxVolumesPerNode=-1', '/driver/maxVolumesPerNode'],
      ['attach=maybe', '/attach'],
      ['logLevel=loud', '/logLevel'],
      ['dataDir=relative', '/dataDir'],
      ['sidecars.provisioner.image=registry.k8s.io/sig-storage/csi-provisioner', '/sidecars/provisioner/image'],
    ] as const) {
      const { status, output } = template(set);
      expect(status, set).not.toBe(0);
      expect(output, set).toContain(`at '${where}'`);
    }
  });

  it('types every value in values.yaml: the schema requires each top-level key', () => {
    const schema = JSON.parse(readFileSync(path.join(CHART, 'values.schema.json'), 'utf8')) as { required: string[]; properties: Record<string, unknown> };
    const keys = [...readFileSync(path.join(CHART, 'values.yaml'), 'utf8').matchAll(/^([a-zA-Z]\w*):/gm)].map((m) => m[1]!);
    expect(Object.keys(schema.properties).sort()).toEqual([...keys].sort());
    // tolerations is null by default, which helm drops before validating.
    expect([...schema.required, 'tolerations'].sort()).toEqual([...keys].sort());
  });
});

describe.skipIf(skip)(`two helm releases on one cluster${NEEDS_TOOLS}`, () => {
  /** Renders a release as `helm install <release> --namespace <ns>` would. */
  function release(name: string, ns: string, set: Record<string, string>): K8sObject[] {
    const args = ['template', name, CHART, '--namespace', ns, '--kube-version', '1.34.0'];
    for (const [k, v] of Object.entries(set)) args.push('--set', `${k}=${v}`);
    return parseYaml(execFileSync(path.join(ROOT, '.tools', 'bin', 'helm'), args, { encoding: 'utf8' }));
  }
  const CLUSTER_SCOPED = new Set(['CSIDriver', 'StorageClass', 'VolumeSnapshotClass', 'VolumeGroupSnapshotClass', 'ClusterRole', 'ClusterRoleBinding']);
  const id = (o: K8sObject, ns: string) => `${o.kind}/${CLUSTER_SCOPED.has(o.kind) ? '' : (o.metadata.namespace ?? ns)}/${o.metadata.name}`;

  for (const [label, second] of [
    ['by release name', { name: 'fast', set: {} }],
    ['by fullnameOverride', { name: 'other', set: { fullnameOverride: 'csi-fast' } }],
  ] as const) {
    it(`share no object, RBAC, CSIDriver, class or socket path (${label})`, () => {
      const a = release('hostpath-csi', 'hostpath-csi', {});
      const b = release(second.name, 'hostpath-csi-fast', { ...second.set, driverName: 'fast.hostpath.csi.dev', dataDir: '/mnt/fast' });
      const aIds = new Set(a.map((o) => id(o, 'hostpath-csi')));
      for (const o of b) expect(aIds.has(id(o, 'hostpath-csi-fast')), id(o, 'hostpath-csi-fast')).toBe(false);
      const socketDir = (objs: K8sObject[]) => workload(objs).spec.template.spec.volumes!.find((v) => v.name === 'socket-dir')!.hostPath!.path;
      expect(socketDir(a)).toBe('/var/lib/kubelet/plugins/hostpath.csi.dev');
      expect(socketDir(b)).toBe('/var/lib/kubelet/plugins/fast.hostpath.csi.dev');
      // Each release's bindings name its own ServiceAccount and ClusterRoles.
      const sa = one(b, 'ServiceAccount').metadata.name;
      for (const binding of b.filter((o) => o.kind.endsWith('Binding'))) {
        const { subjects, roleRef } = binding as unknown as { subjects: { name: string }[]; roleRef: { kind: string; name: string } };
        expect(subjects.map((s) => s.name), binding.metadata.name).toEqual([sa]);
        expect(b.some((o) => o.kind === roleRef.kind && o.metadata.name === roleRef.name), binding.metadata.name).toBe(true);
      }
      expect(workload(b).spec.template.spec.serviceAccountName).toBe(sa);
    });
  }
});
