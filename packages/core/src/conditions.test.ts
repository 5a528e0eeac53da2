import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { negateCondition, scaleCondition, sumConditions } from './conditions.js';
import type { Condition, ImageShape } from './interfaces.js';
import { describeConditionContract } from './testing/contracts.js';

/** log p = -sum((x - target)^2): a condition with a closed-form gradient. */
function targetCondition(target: number, imageShape: ImageShape = [4, 4, 1]): Condition {
  return {
    id: `target(${target})`,
    imageShape,
    describe: () => `pixels near ${target}`,
    logProb: (x) => tf.tidy(() => tf.neg(tf.sum(tf.square(tf.sub(x, target)), [1, 2, 3]))) as tf.Tensor1D,
    dispose: () => {},
  };
}

describe('condition algebra', () => {
  const x = tf.fill([3, 4, 4, 1], 0.25) as tf.Tensor4D;

  it('sums weighted log-probabilities', () => {
    const a = targetCondition(0);
    const b = targetCondition(1);
    const sum = sumConditions([a, { condition: b, weight: 0.5 }]);
    const lp = sum.logProb(x).arraySync();
    // a: -16 * 0.0625 = -1; b: -16 * 0.5625 = -9 -> -1 + 0.5 * -9 = -5.5
    expect(lp).toEqual([-5.5, -5.5, -5.5]);
    expect(sum.id).toBe('target(0) + 0.5*target(1)');
    expect(sum.imageShape).toEqual([4, 4, 1]);
  });

  it('scales and negates', () => {
    expect(scaleCondition(targetCondition(0), 2).logProb(x).arraySync()).toEqual([-2, -2, -2]);
    expect(negateCondition(targetCondition(0)).logProb(x).arraySync()).toEqual([1, 1, 1]);
  });

  it('refuses parts that accept different image shapes, naming both', () => {
    expect(() => sumConditions([targetCondition(0, [4, 4, 1]), targetCondition(1, [8, 8, 3])])).toThrow(
      /target\(1\) accepts 8x8x3 images but another part accepts 4x4x1/,
    );
    expect(() => sumConditions([])).toThrow(/at least one/);
    expect(() => scaleCondition(targetCondition(0), Number.NaN)).toThrow(/finite/);
  });
});

describeConditionContract('sum of two target conditions', () =>
  sumConditions([targetCondition(0.2), { condition: targetCondition(0.9), weight: -0.3 }]),
);
