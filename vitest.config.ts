import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources (the "source" export condition), in the test
  // environment too, so tests never run against a stale dist/.
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source', 'node', 'import', 'default'] } },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'adapters/*/test/**/*.test.ts',
      'conformance/test/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    testTimeout: 30_000,
    setupFiles: ['./vitest.setup.ts'],
  },
});
