import path from 'node:path';
import { defineConfig } from 'vitest/config';

// Kubernetes' External Storage suite against the deployed driver (external-storage.test.ts); run.sh here brings the
// cluster up, runs this and tears it down. One e2e.test run per driver definition, one after the other.
export default defineConfig({
  root: path.resolve(__dirname, '..', '..', '..', '..'),
  test: {
    include: ['test/e2e/local-cluster/external-storage/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['test/e2e/local-cluster/lib/global-setup.ts'],
    testTimeout: 3_600_000,
    hookTimeout: 300_000,
  },
});
