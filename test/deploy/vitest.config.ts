import path from 'node:path';
import { defineConfig } from 'vitest/config';

// Runs only the deploy tests: npx vitest run --config test/deploy/vitest.config.ts
// (the root vitest.config.ts decides whether `npm test` includes them).
export default defineConfig({
  root: path.resolve(__dirname, '..', '..'),
  test: {
    include: ['test/deploy/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
