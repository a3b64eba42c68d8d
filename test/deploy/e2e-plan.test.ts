import { describe, expect, it } from 'vitest';
import { planDeployment, type HostContext } from '../e2e/local-cluster/lib/plan';
import { flag, haveTools, kustomize, NEEDS_TOOLS, OVERLAYS } from './manifests';

// How the local-cluster e2e (test/e2e/local-cluster) turns each kustomize form into host processes: checked here,
// without a cluster, so a manifest change that the e2e could not map fails fast.
const ctx: HostContext = {
  nodeName: 'node-a',
  hostRemap: { '/var/lib/hostpath-csi': '/e2e/state' },
  bin: '/e2e/bin',
  driverCommand: ['node', 'dist/main.js'],
  kubeconfigFor: (ns, sa) => `/e2e/sa/${ns}.${sa}.kubeconfig`,
};
const SOCKET = '/var/lib/kubelet/plugins/hostpath.csi.dev/csi.sock';

describe.skipIf(!haveTools).each(OVERLAYS)(`the e2e plan of the %s form${NEEDS_TOOLS}`, (overlay) => {
  const plan = planDeployment(kustomize(`deploy/kubernetes/overlays/${overlay}`), ctx);
  const proc = (name: string) => plan.processes.find((p) => p.name === name)!;

  it('runs the driver on the host socket and state dir, with the node name for $(NODE_NAME)', () => {
    const driver = proc('hostpath-csi');
    expect(driver.argv.slice(0, 2)).toEqual(['node', 'dist/main.js']);
    expect(flag(driver.argv, 'endpoint')).toBe(`unix://${SOCKET}`);
    expect(flag(driver.argv, 'state-dir')).toBe('/e2e/state');
    expect(flag(driver.argv, 'node-id')).toBe('node-a');
  });

  it('gives every API-using sidecar the socket, its own kubeconfig and its manifest arguments', () => {
    for (const p of plan.processes.filter((x) => x.serviceAccount)) {
      expect(p.argv[0]).toBe(`/e2e/bin/${p.name}`);
      expect(flag(p.argv, 'csi-address')).toBe(SOCKET);
      expect(flag(p.argv, 'kubeconfig')).toBe(`/e2e/sa/hostpath-csi.${p.name}.kubeconfig`);
      expect(p.serviceAccount).toEqual({ namespace: 'hostpath-csi', name: p.name });
    }
  });

  it('runs the registrar stand-in on kubelet\'s registration directory, listening on loopback', () => {
    const r = proc('node-driver-registrar');
    expect(r.argv[0]).toBe('/e2e/bin/hostpath-csi-registrar');
    expect(flag(r.argv, 'plugin-registration-path')).toBe('/var/lib/kubelet/plugins_registry');
    expect(flag(r.argv, 'kubelet-registration-path')).toBe(SOCKET);
    expect(flag(r.argv, 'http-endpoint')).toBe('127.0.0.1:9809');
  });

  it('binds each sidecar\'s RBAC to that sidecar\'s own ServiceAccount, which it creates', () => {
    const sidecars = plan.processes.filter((p) => p.serviceAccount).map((p) => p.name);
    const accounts = plan.objects.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata.name);
    expect(accounts).toEqual(expect.arrayContaining(sidecars));
    for (const b of plan.objects.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) {
      const component = b.metadata.labels?.['app.kubernetes.io/component'];
      if (component && sidecars.includes(component)) {
        expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: component, namespace: 'hostpath-csi' }]);
      }
    }
    expect(plan.objects.some((o) => o.kind === 'StatefulSet' || o.kind === 'DaemonSet')).toBe(false);
  });

  it('maps or explicitly skips every container', () => {
    // The health monitor runs in the single-node-health form only; no host binary can be built for it (plan.ts says why).
    const monitor = overlay === 'single-node-health' ? ['csi-external-health-monitor-controller'] : [];
    expect(plan.skipped.map((s) => s.container).sort()).toEqual([...monitor, 'liveness-probe'].sort());
  });
});
