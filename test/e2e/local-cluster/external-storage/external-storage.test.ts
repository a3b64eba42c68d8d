import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cluster, REPO } from '../lib/cluster';
import { ensureForm, type Form } from '../lib/deployment';
import { countJunit } from './junit';
import { FOCUS, skipPattern } from './specs';

/**
 * Kubernetes' own storage e2e suite (e2e.test, External Storage) against the driver deployed as pods, once per driver
 * definition in test/e2e/storage (one deployment form and StorageClass kind each): the single-node form with group
 * snapshots on (overlays/single-node-group-snapshots, so groupSnapshot can be claimed) and the distributed form
 * (overlays/distributed: per-node provisioner and snapshotter, node-driven expansion). ginkgo runs the specs in
 * E2E_PROCS parallel processes; each definition's JUnit report and counts (counts.json, which
 * scripts/summarize-tests.js adds to the closing line) stay in .run/external-storage/<definition>/. Which specs:
 * specs.ts (E2E_EXTERNAL_STORAGE=full for all of them, E2E_FOCUS for any other --focus).
 */

/** Each definition with the form it was written for (its header says which overlay installs its classes). */
const DEFINITIONS: readonly { definition: string; form: Form }[] = [
  { definition: 'hostpath-csi', form: 'single-node-group-snapshots' },
  { definition: 'hostpath-csi-image', form: 'single-node-group-snapshots' },
  { definition: 'hostpath-csi-distributed', form: 'distributed' },
  { definition: 'hostpath-csi-distributed-image', form: 'distributed' },
];
const OUT = path.join(REPO, '.run', 'external-storage');
const PROCS = Number(process.env.E2E_PROCS ?? '6');
const FULL = process.env.E2E_EXTERNAL_STORAGE === 'full';

function runSuite(definition: string, dir: string): Promise<number> {
  const args = [
    `--procs=${PROCS}`, '--timeout=2h', `--focus=${process.env.E2E_FOCUS ?? FOCUS}`, `--skip=${skipPattern(definition, FULL)}`,
    '--silence-skips', '--no-color', `--output-dir=${dir}`, '--junit-report=junit.xml',
    path.join(cluster.bin, 'e2e.test'), '--',
    `--kubeconfig=${cluster.kubeconfig}`, `--storage.testdriver=${path.join(REPO, 'test/e2e/storage', `${definition}.yaml`)}`,
    '--provider=local', '--node-os-distro=debian', '--disable-log-dump', '--report-dir=' + dir,
  ];
  // e2e.test's kubectl helpers write a kuberc directory per spec under the temp directory and never remove it (24 per
  // run were left in /tmp): TMPDIR keeps them in the run's own directory, removed after the run.
  const env = { ...process.env, TMPDIR: path.join(dir, 'tmp') };
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(cluster.bin, 'ginkgo'), args, { stdio: ['ignore', 'inherit', 'inherit'], cwd: dir, env });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

describe('Kubernetes External Storage suite', () => {
  for (const { definition, form } of DEFINITIONS) {
    it(`passes with test/e2e/storage/${definition}.yaml (${form})`, async () => {
      await ensureForm(form, 'pods');
      const dir = path.join(OUT, definition);
      await rm(dir, { recursive: true, force: true });
      await mkdir(path.join(dir, 'tmp'), { recursive: true });
      const code = await runSuite(definition, dir).finally(() => rm(path.join(dir, 'tmp'), { recursive: true, force: true }));
      const counts = await countJunit(path.join(dir, 'junit.xml'), 'External Storage [Driver: hostpath.csi.dev]');
      const { failures, ...numbers } = counts;
      await writeFile(path.join(dir, 'counts.json'), JSON.stringify(numbers));
      console.log(`external-storage ${definition}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
      expect(failures).toEqual([]);
      expect(counts.passed).toBeGreaterThan(0);
      expect(code).toBe(0);
    });
  }
});
