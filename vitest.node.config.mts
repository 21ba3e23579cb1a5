import { defineConfig } from 'vitest/config';

// The node tier: synthesized Jobs run on a real single-node Kubernetes cluster (npx projen test:node, which runs
// vitest inside a network namespace of its own via test/node/in-netns.sh). Needs root, the Debian packages and the
// binaries listed in test/node/README.md; neither the unit run nor the e2e tier includes it.
// Fixtures (registries, file servers) listen on the pod bridge's gateway, where pods reach them.
process.env.E2E_LISTEN_ADDRESS = '10.88.0.1';

export default defineConfig({
  test: {
    include: ['test/node/**/*.node.ts'],
    environment: 'node',
    globalSetup: ['test/node/global-setup.ts'],
    // one cluster on two cores: files run one after another
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
