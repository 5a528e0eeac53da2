import { defineConfig } from 'vitest/config';

/**
 * The test settings of every package: tests beside the code, long timeouts (real models on
 * small machines), one process per file (each with its own tfjs and backend), and a JSON
 * report that `scripts/test-summary.mjs` adds up. Files already run side by side, one per
 * core, so wasm runs on one thread in each (the threaded build has tests of its own).
 */
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
    env: { PPGN_WASM_THREADS: process.env.PPGN_WASM_THREADS ?? '1' },
  },
});
