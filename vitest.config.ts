import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source'] },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'adapters/*/test/**/*.test.ts',
      'conformance/test/**/*.test.ts',
    ],
    testTimeout: 30_000,
    setupFiles: ['./vitest.setup.ts'],
  },
});
