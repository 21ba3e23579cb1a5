import { defineConfig } from 'vitest/config';

// The e2e tier: synthesized Jobs run for real by test/e2e/runner.ts (npm run test:e2e). Needs root and the
// Debian tools listed in test/e2e/README.md; the default unit run (vitest.config.mts) does not include it.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
