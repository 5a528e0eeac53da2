import { packageBuildWithBrowser } from '../../tsup.base';

export default packageBuildWithBrowser(
  {
    entry: {
      index: 'src/index.ts',
      'native/cli': 'src/native/cli.ts',
      testing: 'src/testing.ts',
      // worker thread entry of the pool: resolved from dist/ at run time, so it must be plain JS
      'pool-worker': 'src/pool/pool-worker.ts',
      // `pnpm bench` (not part of the published API)
      bench: 'src/bench/index.ts',
    },
    dts: { entry: { index: 'src/index.ts', browser: 'src/browser.ts', 'native/cli': 'src/native/cli.ts', testing: 'src/testing.ts' } },
  },
  // the browser build: wasm with the training kernels, or cpu (no native, pool or build tools)
  'src/browser.ts',
);
