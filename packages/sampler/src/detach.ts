import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';

/**
 * A copy of `x` that gradient tapes do not connect to `x` (tfjs has no stopGradient op).
 *
 * How: `customGrad` runs its forward function with the tape off, so the `clone` inside is
 * not recorded; the custom op itself is recorded with only a fresh scalar as its input, so no
 * path leads from anything the caller differentiates to the copy. The clone shares the data
 * of `x` (no copy on cpu, wasm or webgl).
 *
 * Used so that directions computed from x = G(h) inside the differentiated function (the
 * condition's gradient, prior directions, the context term) act as constants in the
 * backward pass through G.
 */
export function detach<T extends Tensor>(x: T): T {
  return tf.tidy(() => {
    const anchor = tf.scalar(0);
    const op = tf.customGrad((a) => ({
      value: tf.clone(x),
      gradFunc: () => tf.zerosLike(a as Tensor),
    }));
    return op(anchor) as T;
  });
}
