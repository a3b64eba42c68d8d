import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CHART, haveTools, helm, helmTemplate, kustomize, NEEDS_TOOLS, type K8sObject } from './manifests';

/** The SnapshotMetadata deployment (docs/snapshot-metadata.md): the chart's snapshotMetadata values and the kustomize component. */
const skip = !haveTools;

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
  ports?: unknown[];
  volumeMounts?: unknown[];
}

function podSpec(objects: K8sObject[]): { containers: Container[]; volumes: Array<{ name: string; secret?: { secretName: string } }> } {
  const sts = objects.find((o) => o.kind === 'StatefulSet')!;
  return (sts['spec'] as { template: { spec: ReturnType<typeof podSpec> } }).template.spec;
}

const named = (objects: K8sObject[], kind: string): K8sObject[] => objects.filter((o) => o.kind === kind && o.metadata.name.includes('snapshot-metadata'));
const driverEnv = (objects: K8sObject[]): Record<string, string | undefined> =>
  Object.fromEntries((podSpec(objects).containers.find((c) => c.name === 'hostpath-csi')!.env ?? []).map((e) => [e.name, e.value]));

describe.skipIf(skip)(`SnapshotMetadata in the chart${NEEDS_TOOLS}`, () => {
  it('is off by default: no sidecar, no driver flag, no objects', () => {
    const objects = helmTemplate();
    expect(podSpec(objects).containers.map((c) => c.name)).not.toContain('csi-snapshot-metadata');
    expect(driverEnv(objects)['HOSTPATH_CSI_SNAPSHOT_METADATA']).toBeUndefined();
    expect(objects.filter((o) => o.kind === 'SnapshotMetadataService' || o.metadata.name.includes('snapshot-metadata'))).toEqual([]);
  });

  it('enabled: the sidecar on the socket with its TLS Secret, the driver flag, the Service on 6443', () => {
    const objects = helmTemplate({ 'snapshotMetadata.enabled': 'true' });
    const spec = podSpec(objects);
    const sidecar = spec.containers.find((c) => c.name === 'csi-snapshot-metadata')!;
    expect(sidecar.image).toBe('registry.k8s.io/sig-storage/csi-snapshot-metadata:v0.2.0');
    expect(sidecar.args).toEqual(expect.arrayContaining(['--csi-address=/csi/csi.sock', '--port=50051', '--tls-cert=/tls/tls.crt', '--tls-key=/tls/tls.key']));
    expect(driverEnv(objects)['HOSTPATH_CSI_SNAPSHOT_METADATA']).toBe('variable-length');
    expect(spec.volumes.find((v) => v.name === 'snapshot-metadata-tls')?.secret?.secretName).toBe('hostpath-csi-snapshot-metadata-tls');
    const [service] = named(objects, 'Service');
    expect((service!['spec'] as { ports: unknown[] }).ports).toEqual([{ name: 'snapshot-metadata', port: 6443, protocol: 'TCP', targetPort: 'snapshot-meta' }]);
  });

  it('the SnapshotMetadataService names the driver, the Service and the CA that signed the generated certificate', () => {
    const objects = helmTemplate({ 'snapshotMetadata.enabled': 'true' });
    const sms = objects.find((o) => o.kind === 'SnapshotMetadataService')!;
    expect(sms.metadata.name).toBe('hostpath.csi.dev');
    const spec = sms['spec'] as { address: string; caCert: string; audience: string };
    expect(spec.address).toBe('hostpath-csi-snapshot-metadata.hostpath-csi:6443');
    expect(spec.audience).toBe('hostpath-csi-snapshot-metadata');
    const data = named(objects, 'Secret')[0]!['data'] as Record<string, string>;
    expect(data['ca.crt']).toBe(spec.caCert);
    const ca = new X509Certificate(Buffer.from(spec.caCert, 'base64'));
    const cert = new X509Certificate(Buffer.from(data['tls.crt']!, 'base64'));
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkHost('hostpath-csi-snapshot-metadata.hostpath-csi')).toBe('hostpath-csi-snapshot-metadata.hostpath-csi');
  });

  it('fixed-length format and an existing Secret with its CA', () => {
    const objects = helmTemplate({
      'snapshotMetadata.enabled': 'true',
      'snapshotMetadata.format': 'fixed-length',
      'snapshotMetadata.tls.secretName': 'my-tls',
      'snapshotMetadata.tls.caCert': 'Q0E=',
    });
    expect(driverEnv(objects)['HOSTPATH_CSI_SNAPSHOT_METADATA']).toBe('fixed-length');
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(podSpec(objects).volumes.find((v) => v.name === 'snapshot-metadata-tls')?.secret?.secretName).toBe('my-tls');
    expect((objects.find((o) => o.kind === 'SnapshotMetadataService')!['spec'] as { caCert: string }).caCert).toBe('Q0E=');
  });

  it('refuses an existing Secret without its CA, and an unknown format', () => {
    const base = ['template', 'hostpath-csi', CHART, '--set', 'snapshotMetadata.enabled=true'];
    expect(helm([...base, '--set', 'snapshotMetadata.tls.secretName=my-tls']).output).toContain('snapshotMetadata.tls.caCert is required');
    expect(helm([...base, '--set', 'snapshotMetadata.format=4k']).status).not.toBe(0);
  });

  it('is not deployed in the distributed form (the snapshot images live with the controller)', () => {
    const objects = helmTemplate({ form: 'distributed', 'snapshotMetadata.enabled': 'true' });
    expect(JSON.stringify(objects)).not.toContain('snapshot-metadata');
  });
});

describe.skipIf(skip)(`SnapshotMetadata kustomize component${NEEDS_TOOLS}`, () => {
  it('adds the same sidecar, driver flag, Service and RBAC as the chart (the TLS Secret and the object come from the example)', () => {
    const k = kustomize('test/deploy/fixtures/snapshot-metadata');
    const h = helmTemplate({ 'snapshotMetadata.enabled': 'true' });
    const sidecar = (o: K8sObject[]): Container => podSpec(o).containers.find((c) => c.name === 'csi-snapshot-metadata')!;
    expect({ ...sidecar(k), imagePullPolicy: undefined }).toEqual({ ...sidecar(h), imagePullPolicy: undefined });
    expect(driverEnv(k)['HOSTPATH_CSI_SNAPSHOT_METADATA']).toBe('variable-length');
    expect(named(k, 'Service').map((o) => o['spec'])).toEqual(named(h, 'Service').map((o) => o['spec']));
    expect(named(k, 'ClusterRole').map((o) => o['rules'])).toEqual(named(h, 'ClusterRole').map((o) => o['rules']));
    expect(named(k, 'ClusterRoleBinding').map((o) => o['subjects'])).toEqual(named(h, 'ClusterRoleBinding').map((o) => o['subjects']));
  });
});
