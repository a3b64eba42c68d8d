import path from 'node:path';
import { defineConfig } from 'vitest/config';

// The fault harness: bash test/faults/run.sh (CI budget), --soak for ten times as much. Not part of `npm test`.
export default defineConfig({
  root: path.resolve(__dirname, '..', '..'),
  test: {
    include: ['test/faults/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    // One file at a time: the parts measure timings and share a 2-core machine with each other otherwise.
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
