import { describeConditionContract, describeGeneratorContract, describePriorContract } from '@ppgn/core/testing';
import { beforeAll, describe } from 'vitest';
import { BACKENDS, halfDaePrior, halfPixelPrior, linearClassifier, matrix, sigmoidGenerator, targetCondition, useBackend } from './test-models.js';

// The fixtures the sampler's tests build on pass the shared contracts.
for (const backend of BACKENDS) {
  describe(`test models [${backend}]`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });
    const g = sigmoidGenerator(8, [4, 4, 1]);
    describeGeneratorContract('sigmoid generator', () => g);
    describeConditionContract('linear classifier', () => linearClassifier(matrix(16, 3, 5), [4, 4, 1], 1), { isLogProbability: true });
    describeConditionContract('target', () => targetCondition(0.5, [4, 4, 1]));
    describePriorContract('R(h) = 0.5 h + c', () => halfDaePrior(new Array(8).fill(0.1)), { generator: g });
    describePriorContract('R(x) = 0.5 x + c', () => halfPixelPrior(0.2), { generator: g });
  });
}
