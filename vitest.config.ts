import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure logic and the store, no cluster) and `integration` (one real local
// control plane per run, started by the global setup). Results also go to test-results/ so CI
// can print its closing summary line.
export default defineConfig({
  test: {
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'src/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/cluster/global-setup.ts'],
          setupFiles: ['test/cluster/explain-failures.ts'],
          // The control plane is shared: files run one after another, tests in order.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
