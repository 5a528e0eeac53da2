import { packageBuildWithBrowser } from '../../tsup.base';

export default packageBuildWithBrowser({ entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' }, external: ['vitest'] });
