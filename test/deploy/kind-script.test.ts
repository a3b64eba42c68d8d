import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterEnvProblems, parseClusterEnv } from '../e2e/local-cluster/lib/cluster-env';
import { container, haveTools, kustomize, NEEDS_TOOLS, OVERLAYS, ROOT, workload } from './manifests';

/**
 * test/e2e/kind.sh cannot run here (no Docker, no kind), so what can be checked without a cluster is checked here:
 * the paths its csi-sanity step hands the in-cluster driver must be ones that driver accepts.
 */
const script = readFileSync(path.join(ROOT, 'test/e2e/kind.sh'), 'utf8');

/**
 * Runs kind.sh's write_cluster_env (cut out of the script, so nothing else of it runs) with the values the script
 * sets around it, and returns the cluster.env it wrote.
 */
function kindClusterEnv(): { env: Record<string, string>; bin: string } {
  const fn = /^write_cluster_env\(\) \{[\s\S]*?^\}$/m.exec(script)?.[0];
  if (!fn) throw new Error('kind.sh has no write_cluster_env');
  const suiteImage = /^suite_image=(\S+)$/m.exec(script)?.[1] ?? '';
  const dir = mkdtempSync(path.join(tmpdir(), 'kind-cluster-env-'));
  try {
    // A kubectl on PATH, as kind.sh requires; E2E_BIN must name its directory.
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'kubectl'), '#!/bin/sh\n', { mode: 0o755 });
    execFileSync('bash', ['-c', `set -euo pipefail; cluster=e2e; suite_image=${suiteImage}\n${fn}\nwrite_cluster_env "$1"`, 'bash', dir], {
      env: { PATH: `${bin}:/usr/bin:/bin` },
    });
    return { env: parseClusterEnv(readFileSync(path.join(dir, 'cluster.env'), 'utf8')), bin };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The value of a csi-sanity flag in kind.sh, with the script's $sanity_root expanded. */
function sanityPath(name: string): string {
  const root = /^\s*sanity_root=(\S+)$/m.exec(script)?.[1] ?? '';
  const raw = new RegExp(`--csi\\.${name} "?([^"\\s]+)"?`).exec(script)?.[1];
  if (raw === undefined) throw new Error(`kind.sh passes no --csi.${name}`);
  return raw.replace('$sanity_root', root);
}

describe.skipIf(!haveTools)(`test/e2e/kind.sh${NEEDS_TOOLS}`, () => {
  it('gives csi-sanity target and staging paths under the allowed path root of every form (not /tmp)', () => {
    for (const overlay of OVERLAYS) {
      const driver = container(workload(kustomize(`deploy/kubernetes/overlays/${overlay}`)).spec.template.spec, 'hostpath-csi');
      const root = driver.env?.find((e) => e.name === 'HOSTPATH_CSI_ALLOWED_PATH_ROOT')?.value;
      expect(root, overlay).toBe('/var/lib/kubelet');
      for (const name of ['mountdir', 'stagingdir']) {
        expect(sanityPath(name).startsWith(`${root}/plugins/`), `${overlay} --csi.${name} ${sanityPath(name)}`).toBe(true);
      }
    }
  });
});

describe('test/e2e/kind.sh runs the shared e2e suite', () => {
  it('is valid bash (bash -n)', () => {
    expect(() => execFileSync('bash', ['-n', path.join(ROOT, 'test/e2e/kind.sh')])).not.toThrow();
  });

  it('writes a cluster.env with every key the suite requires and none it does not read', () => {
    const { env, bin } = kindClusterEnv();
    expect(clusterEnvProblems(env)).toEqual([]);
    expect(env.E2E_BIN).toBe(bin);
    expect(env).toMatchObject({ E2E_NODE_NAME: 'e2e-control-plane', E2E_IMAGE_LOADER: 'kind', E2E_KIND_CLUSTER: 'e2e', E2E_SNAPSHOT_CONTROLLER: 'installed' });
    expect(env.E2E_NODE_EXEC).toBe('docker exec e2e-control-plane');
  });

  it("runs vitest with the suite's config, the env the suite reads (E2E_ROOT, E2E_DEPLOYMENT=pods) and case files that exist", () => {
    const line = /^\s*(E2E_ROOT=\S+ E2E_DEPLOYMENT=(\S+) npx vitest run --config (\S+) (.*))$/m.exec(script);
    expect(line, 'the vitest line of run_suite').not.toBeNull();
    const [, , deployment, config, filters] = line!;
    expect(deployment).toBe('pods');
    expect(config).toBe('test/e2e/local-cluster/vitest.config.ts');
    const cases = readdirCases();
    for (const f of filters!.split(' ')) expect(cases.some((c) => c.includes(f)), `filter ${f}`).toBe(true);
  });
});

describe.skipIf(!haveTools)(`kind.sh's cluster.env matches the single-node overlay${NEEDS_TOOLS}`, () => {
  it("names the driver's state hostPath and kubelet's root as the overlay deploys them", () => {
    const { env } = kindClusterEnv();
    const spec = workload(kustomize('deploy/kubernetes/overlays/single-node')).spec.template.spec;
    expect(spec.volumes?.find((v) => v.name === 'data-dir')?.hostPath?.path).toBe(env.E2E_STATE_DIR);
    const driver = container(spec, 'hostpath-csi');
    expect(driver.env?.find((e) => e.name === 'HOSTPATH_CSI_ALLOWED_PATH_ROOT')?.value).toBe(env.E2E_KUBELET_DIR);
  });
});

function readdirCases(): string[] {
  return readdirSync(path.join(ROOT, 'test/e2e/local-cluster/cases')).map((f) => `cases/${f}`);
}
