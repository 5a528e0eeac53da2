import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { defineConfig, type Options } from 'tsup';

/** How every package is built: ESM for Node 20 with types and source maps. */
const NODE_BUILD: Options = { entry: ['src/index.ts'], format: ['esm'], dts: true, sourcemap: true, clean: true, target: 'node20' };

/** The Node build; `entry` and extras per package. */
export function packageBuild(options: Options = {}) {
  return defineConfig({ ...NODE_BUILD, ...options });
}

/**
 * In the browser build, `./x.js` resolves to a sibling `x.browser.ts` when one exists: the
 * stand-ins for modules that need Node (files on disk, Node's codecs).
 */
const browserSiblings = {
  name: 'browser-siblings',
  setup(build: { onResolve(o: { filter: RegExp }, f: (a: { path: string; resolveDir: string }) => { path: string } | undefined): void }) {
    build.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
      const sibling = path.join(args.resolveDir, args.path.replace(/\.js$/, '.browser.ts'));
      return existsSync(sibling) ? { path: sibling } : undefined;
    });
  },
};

/**
 * A package with a browser build beside the Node one: `dist/browser/index.js` (the `browser`
 * export condition) from `browserEntry` (default the Node entry), with `*.browser.ts`
 * stand-ins. Types are the Node build's.
 */
export function packageBuildWithBrowser(options: Options = {}, browserEntry = 'src/index.ts') {
  return defineConfig([
    // the browser build writes into dist/browser at the same time: leave it alone
    { ...NODE_BUILD, ...options, clean: ['**/*', '!browser/**'] },
    {
      entry: { index: browserEntry },
      outDir: 'dist/browser',
      format: ['esm'],
      platform: 'browser',
      target: 'es2022',
      dts: false,
      sourcemap: true,
      clean: true,
      esbuildPlugins: [browserSiblings],
    },
  ]);
}
