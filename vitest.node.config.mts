import { defineConfig } from 'vitest/config';

// The node tier: synthesized Jobs on a real single-node Kubernetes cluster with real kaniko and BuildKit
// (test/e2e/README.md). Needs root, the Debian packages and the binaries listed there; not part of `test`.
export default defineConfig({
  test: {
    include: ['test/node/**/*.node.ts'],
    environment: 'node',
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
