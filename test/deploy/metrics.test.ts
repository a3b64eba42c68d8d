import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { container, flag, haveTools, helm, helmTemplate, kustomize, NEEDS_TOOLS, ofKind, one, ROOT, workload, type K8sObject } from './manifests';
import { driverConfig } from './norms';

/** The sidecars with a Prometheus endpoint of their own (--http-endpoint), and the port name each declares. */
const SIDECAR_METRICS: Record<string, string> = {
  'csi-provisioner': 'metrics-prov',
  'csi-attacher': 'metrics-attach',
  'csi-resizer': 'metrics-resize',
  'csi-snapshotter': 'metrics-snap',
  'csi-external-health-monitor-controller': 'metrics-health',
};

interface ServicePort {
  name: string;
  port: number;
  targetPort: string;
}
type PodMonitor = K8sObject & {
  spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { port: string; path: string; interval: string }[] };
};
type Service = K8sObject & { spec: { clusterIP?: string; selector: Record<string, string>; ports: ServicePort[] } };

const renderings: [string, () => K8sObject[]][] = [
  ['kustomize single-node', () => kustomize('deploy/kubernetes/overlays/single-node')],
  ['kustomize single-node-no-attach', () => kustomize('deploy/kubernetes/overlays/single-node-no-attach')],
  ['kustomize distributed', () => kustomize('deploy/kubernetes/overlays/distributed')],
  ['helm single-node', () => helmTemplate()],
  ['helm single-node without attach', () => helmTemplate({ attach: 'false' })],
  ['helm distributed', () => helmTemplate({ form: 'distributed' })],
];

for (const [title, render] of renderings) {
  describe.skipIf(!haveTools)(`metrics in ${title}${NEEDS_TOOLS}`, () => {
    const objects = haveTools ? render() : [];
    const pod = () => workload(objects).spec.template.spec;
    const service = () => one<Service>(objects, 'Service');

    it('the driver serves metrics on its declared port 9810', () => {
      const driver = container(pod(), 'hostpath-csi');
      expect(driverConfig(driver).metricsAddress).toEqual({ host: '', port: 9810 });
      expect(driver.ports).toContainEqual({ name: 'metrics', containerPort: 9810, protocol: 'TCP' });
    });

    it("every sidecar with a metrics endpoint serves it on a port it declares, each port once in the pod", () => {
      const ports = pod().containers.flatMap((c) => (c.ports ?? []).map((p) => p.containerPort));
      expect(new Set(ports).size).toBe(ports.length);
      for (const c of pod().containers.filter((x) => x.name in SIDECAR_METRICS)) {
        const declared = c.ports?.find((p) => p.name === SIDECAR_METRICS[c.name]);
        expect(declared, c.name).toBeDefined();
        expect(flag(c.args, 'http-endpoint'), c.name).toBe(`:${declared!.containerPort}`);
      }
    });

    it('one headless Service selects the driver pod and names each metrics port of it, and no other', () => {
      const svc = service();
      const labels = workload(objects).spec.template.metadata.labels;
      expect(svc.spec.clusterIP).toBe('None');
      for (const [k, v] of Object.entries(svc.spec.selector)) expect(labels[k], k).toBe(v);
      const declared = pod().containers.flatMap((c) => c.ports ?? []).filter((p) => p.name?.startsWith('metrics'));
      expect(svc.spec.ports.map((p) => [p.name, p.port, p.targetPort]).sort()).toEqual(declared.map((p) => [p.name, p.containerPort, p.name]).sort());
    });
  });
}

describe.skipIf(!haveTools)(`chart metrics values${NEEDS_TOOLS}`, () => {
  it('metrics.enabled=false leaves out the flag, every sidecar endpoint, their ports and the Service', () => {
    const objects = helmTemplate({ 'metrics.enabled': 'false' });
    const pod = workload(objects).spec.template.spec;
    expect(driverConfig(container(pod, 'hostpath-csi')).metricsAddress).toBeNull();
    for (const c of pod.containers) expect(flag(c.args, 'http-endpoint') ?? '', c.name).not.toMatch(/^:981/);
    expect(pod.containers.flatMap((c) => c.ports ?? []).filter((p) => p.name?.startsWith('metrics'))).toEqual([]);
    expect(ofKind(objects, 'Service')).toEqual([]);
  });

  it('metrics.port moves the driver and the sidecars together', () => {
    const pod = workload(helmTemplate({ 'metrics.port': '19000' })).spec.template.spec;
    expect(driverConfig(container(pod, 'hostpath-csi')).metricsAddress).toEqual({ host: '', port: 19000 });
    expect(flag(container(pod, 'csi-snapshotter').args, 'http-endpoint')).toBe(':19004');
  });

  it('a ServiceMonitor only when asked, scraping every port of the Service with the extra labels', () => {
    expect(ofKind(helmTemplate(), 'ServiceMonitor')).toEqual([]);
    const objects = helmTemplate({ 'metrics.serviceMonitor.enabled': 'true', 'metrics.serviceMonitor.labels.release': 'prom' });
    const sm = one<K8sObject & { spec: { endpoints: { port: string }[] } }>(objects, 'ServiceMonitor');
    expect(sm.metadata.labels?.['release']).toBe('prom');
    expect(sm.spec.endpoints.map((e) => e.port)).toEqual(one<Service>(objects, 'Service').spec.ports.map((p) => p.name));
  });

  it('a PodMonitor only when asked, selecting the driver pod and scraping each metrics port it declares, in both forms', () => {
    expect(ofKind(helmTemplate(), 'PodMonitor')).toEqual([]);
    expect(ofKind(helmTemplate({ 'metrics.serviceMonitor.enabled': 'true' }), 'PodMonitor')).toEqual([]);
    for (const form of ['single-node', 'distributed']) {
      const objects = helmTemplate({ form, 'metrics.podMonitor.enabled': 'true', 'metrics.podMonitor.labels.release': 'prom', 'metrics.podMonitor.interval': '15s' });
      expect(ofKind(objects, 'ServiceMonitor'), form).toEqual([]);
      const pm = one<PodMonitor>(objects, 'PodMonitor');
      expect(pm.metadata.labels?.['release'], form).toBe('prom');
      const labels = workload(objects).spec.template.metadata.labels;
      for (const [k, v] of Object.entries(pm.spec.selector.matchLabels)) expect(labels[k], `${form} ${k}`).toBe(v);
      const declared = workload(objects).spec.template.spec.containers.flatMap((c) => c.ports ?? []).filter((p) => p.name?.startsWith('metrics'));
      expect(pm.spec.podMetricsEndpoints.map((e) => [e.port, e.path, e.interval]).sort(), form).toEqual(declared.map((p) => [p.name, '/metrics', '15s']).sort());
    }
  });

  it('metrics.enabled=false leaves out the ServiceMonitor and the PodMonitor even when they are asked for', () => {
    const objects = helmTemplate({ 'metrics.enabled': 'false', 'metrics.serviceMonitor.enabled': 'true', 'metrics.podMonitor.enabled': 'true' });
    expect(ofKind(objects, 'ServiceMonitor')).toEqual([]);
    expect(ofKind(objects, 'PodMonitor')).toEqual([]);
  });

  it('the schema refuses a port the sidecars could not follow, and an unknown metrics key', () => {
    expect(helm(['lint', '--strict', path.join(ROOT, 'deploy', 'helm', 'hostpath-csi'), '--set', 'metrics.port=65534']).status).not.toBe(0);
    expect(helm(['lint', '--strict', path.join(ROOT, 'deploy', 'helm', 'hostpath-csi'), '--set', 'metrics.bogus=1']).status).not.toBe(0);
    expect(helm(['lint', '--strict', path.join(ROOT, 'deploy', 'helm', 'hostpath-csi'), '--set', 'metrics.podMonitor.interval=soon']).status).not.toBe(0);
  });
});

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'deploy', 'grafana', 'hostpath-csi.json'), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
  const exported = readFileSync(path.join(ROOT, 'src', 'metrics', 'metrics.ts'), 'utf8');

  it('queries only metrics the driver exports (or the default process metrics)', () => {
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(5);
    for (const expr of exprs) {
      for (const [, name] of expr.matchAll(/\bhostpath_csi_([a-z_]+?)(?:_bucket|_count|_sum)?\b/g)) {
        expect(exported.includes(`'${name}'`) || exported.includes(`\${PREFIX}${name}\``), `${expr}: ${name}`).toBe(true);
      }
    }
  });
});
