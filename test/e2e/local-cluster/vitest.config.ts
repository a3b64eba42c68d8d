import path from 'node:path';
import { defineConfig } from 'vitest/config';

// The local-cluster e2e suite: run.sh brings the cluster up, runs this, and tears it down. To run it against a
// cluster that is already up: npx vitest run --config test/e2e/local-cluster/vitest.config.ts [file-filter]
// One cluster, so one file at a time; each case has its own namespace and its own time limit (inNamespace).
export default defineConfig({
  root: path.resolve(__dirname, '..', '..', '..'),
  test: {
    include: ['test/e2e/local-cluster/cases/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['test/e2e/local-cluster/lib/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
