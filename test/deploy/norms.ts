import { expect, it } from 'vitest';
import { parseCommand, type Config } from '../../src/config';
import type { Container, PodSpec } from './manifests';

/**
 * Production norms every rendering of the driver's pod must meet (issue 12): checked inside each describeDeployment,
 * so every kustomize form and every helm values set is held to them.
 */

interface Resources {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}
type Probe = { httpGet?: { path: string; port: string | number }; periodSeconds?: number; failureThreshold?: number };
type FullContainer = Container & { resources?: Resources; startupProbe?: Probe };

/** The driver's Config from its args and literal env values, as the container starts it ($(NODE_NAME) expanded). */
export function driverConfig(driver: Container): Config {
  const args = (driver.args ?? []).map((a) => a.replace('$(NODE_NAME)', 'node-1'));
  const env: NodeJS.ProcessEnv = {};
  for (const e of driver.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  const parsed = parseCommand(args, env);
  if (parsed.kind !== 'run') throw new Error(`the driver would not run: ${parsed.kind}`);
  return parsed.config;
}

/** Bytes in a Kubernetes memory quantity of the forms the manifests use (Mi, Gi). */
function mebibytes(q: string): number {
  const m = /^(\d+)(Mi|Gi)$/.exec(q);
  if (!m) throw new Error(`unexpected memory quantity ${q}`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
}

/** The driver's measured peak: 83 MiB resident creating 200 volumes 10 at a time (docs/kubernetes.md). */
const DRIVER_PEAK_MIB = 83;

export function describeNorms(pod: () => PodSpec, form: 'single-node' | 'distributed'): void {
  const containers = () => pod().containers as FullContainer[];
  const driver = () => containers().find((c) => c.name === 'hostpath-csi')!;

  it('runs the node plugin at priority system-node-critical', () => {
    expect(pod()['priorityClassName']).toBe('system-node-critical');
  });

  it('requests CPU and memory for every container, the driver above its measured peak', () => {
    for (const c of containers()) {
      expect(c.resources?.requests?.['cpu'], c.name).toMatch(/^\d+m$/);
      expect(c.resources?.requests?.['memory'], c.name).toMatch(/^\d+(Mi|Gi)$/);
    }
    expect(mebibytes(driver().resources!.requests!['memory']!)).toBeGreaterThan(DRIVER_PEAK_MIB);
  });

  it('limits every sidecar\'s memory above its request, and never the driver\'s CPU', () => {
    for (const c of containers()) {
      if (c.name === 'hostpath-csi') {
        expect(c.resources?.limits?.['cpu']).toBeUndefined();
        continue;
      }
      const limit = c.resources?.limits?.['memory'];
      expect(limit, c.name).toBeDefined();
      expect(mebibytes(limit!), c.name).toBeGreaterThan(mebibytes(c.resources!.requests!['memory']!));
      expect(c.resources?.limits?.['cpu'], c.name).toBeUndefined();
    }
  });

  it('gives the driver a start-up probe on the livenessprobe sidecar that allows 10 minutes of start-up reconcile', () => {
    const probe = driver().startupProbe;
    expect(probe?.httpGet).toEqual({ path: '/healthz', port: 'healthz' });
    expect((probe?.periodSeconds ?? 10) * (probe?.failureThreshold ?? 3)).toBeGreaterThanOrEqual(600);
  });

  if (form === 'distributed') {
    it('tolerates every taint, so the node plugin runs on every node', () => {
      expect(pod()['tolerations']).toEqual([{ operator: 'Exists' }]);
    });
  }
}
