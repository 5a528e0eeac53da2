import { defineConfig, type Options } from 'tsup';

/** How every package is built: ESM for Node 20 with types and source maps; `entry` and extras per package. */
export function packageBuild(options: Options = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    ...options,
  });
}
