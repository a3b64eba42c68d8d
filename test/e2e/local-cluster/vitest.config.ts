import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * Files in name order: the cases that use the single-node form (01-09) share one deployment (pods, unless
 * E2E_DEPLOYMENT=processes); 10 switches forms as host processes; 11-14 install the node plugin as pods themselves.
 */
class ByName extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
  }
}

// The local-cluster e2e suite: run.sh brings the cluster up, runs this, and tears it down. To run it against a
// cluster that is already up (up.sh): npx vitest run --config test/e2e/local-cluster/vitest.config.ts [filter]
// One cluster, so one file at a time; each case has its own namespace and its own time limit (inNamespace).
export default defineConfig({
  root: path.resolve(__dirname, '..', '..', '..'),
  test: {
    include: ['test/e2e/local-cluster/cases/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    fileParallelism: false,
    sequence: { sequencer: ByName },
    globalSetup: ['test/e2e/local-cluster/lib/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
