import { packageBuild } from '../../tsup.base';

export default packageBuild({
  entry: {
    index: 'src/index.ts',
    'native/cli': 'src/native/cli.ts',
    testing: 'src/testing.ts',
    // worker thread entry of the pool: resolved from dist/ at run time, so it must be plain JS
    'pool-worker': 'src/pool/pool-worker.ts',
    // `pnpm bench` (not part of the published API)
    bench: 'src/bench/index.ts',
  },
  dts: { entry: { index: 'src/index.ts', 'native/cli': 'src/native/cli.ts', testing: 'src/testing.ts' } },
});
