import * as tf from '@tensorflow/tfjs-core';
import type { Tensor1D, Tensor4D } from '@tensorflow/tfjs-core';
import type { Condition, ImageShape } from './interfaces.js';
import { shapeToString } from './shapes.js';

/** A condition with a weight, for `sumConditions`. */
export interface WeightedCondition {
  condition: Condition;
  weight: number;
}

function sameShape(a: ImageShape, b: ImageShape): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

/**
 * log p = sum_i w_i log p_i(y_i | x): "class A and caption B", or "class A but not B"
 * with a negative weight. The parts must accept the same image shape.
 */
export function sumConditions(parts: Array<Condition | WeightedCondition>): Condition {
  if (parts.length === 0) throw new Error('sumConditions: needs at least one condition');
  const items: WeightedCondition[] = parts.map((p) =>
    'condition' in p ? p : { condition: p, weight: 1 },
  );
  let imageShape: ImageShape | undefined;
  for (const { condition, weight } of items) {
    if (!Number.isFinite(weight)) {
      throw new Error(`sumConditions: weight of ${condition.id} is ${weight}, expected a finite number`);
    }
    const s = condition.imageShape;
    if (s === undefined) continue;
    if (imageShape !== undefined && !sameShape(imageShape, s)) {
      throw new Error(
        `sumConditions: ${condition.id} accepts ${shapeToString(s)} images but another part accepts ${shapeToString(imageShape)}`,
      );
    }
    imageShape = s;
  }
  const label = items.map(({ condition, weight }) => (weight === 1 ? condition.id : `${weight}*${condition.id}`));
  return {
    id: label.join(' + '),
    imageShape,
    describe: () => items.map(({ condition, weight }) => `${weight} x ${condition.describe()}`).join(' + '),
    logProb(x: Tensor4D): Tensor1D {
      return tf.tidy(() => {
        let total: Tensor1D | undefined;
        for (const { condition, weight } of items) {
          const term = tf.mul(condition.logProb(x), weight) as Tensor1D;
          total = total === undefined ? term : (tf.add(total, term) as Tensor1D);
        }
        return total as Tensor1D;
      });
    },
    dispose() {
      for (const { condition } of items) condition.dispose();
    },
  };
}

/** w * log p(y | x). */
export function scaleCondition(condition: Condition, weight: number): Condition {
  return sumConditions([{ condition, weight }]);
}

/** -log p(y | x): steer away from y. */
export function negateCondition(condition: Condition): Condition {
  return scaleCondition(condition, -1);
}
