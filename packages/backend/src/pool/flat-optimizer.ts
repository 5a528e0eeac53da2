/**
 * Adam and SGD on flat Float32Arrays, as tf.train.adam and tf.train.sgd compute them. The pool
 * trainer steps its built-in optimizers here, in place on the shared weight buffer: one pass
 * over the numbers instead of a dozen tensor ops per weight on the main thread.
 */

/** One trainable weight: where it sits in the weight buffer and in the gradient buffer. */
export interface FlatRange {
  weight: number;
  grad: number;
  length: number;
}

export interface FlatOptimizer {
  /** Updates `weights` in place from `grads` over `ranges`. */
  apply(weights: Float32Array, grads: Float32Array, ranges: readonly FlatRange[]): void;
  /** Updates applied so far. */
  readonly iterations: number;
}

export interface FlatAdamOptions {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** Adam (tf.train.adam's update: bias-corrected moments, epsilon added to the root). */
export class FlatAdam implements FlatOptimizer {
  iterations = 0;
  private readonly m: Float32Array;
  private readonly v: Float32Array;

  constructor(
    readonly options: FlatAdamOptions,
    size: number,
  ) {
    const { learningRate, beta1, beta2, epsilon } = options;
    if (!(learningRate >= 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(epsilon > 0)) {
      throw new Error(`adam: needs learningRate >= 0, beta1 and beta2 in [0, 1), epsilon > 0; got ${JSON.stringify(options)}`);
    }
    // the moments are indexed like the gradient buffer
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  apply(weights: Float32Array, grads: Float32Array, ranges: readonly FlatRange[]): void {
    const { learningRate, beta1, beta2, epsilon } = this.options;
    const t = this.iterations + 1;
    const c1 = 1 - beta1 ** t;
    const c2 = 1 - beta2 ** t;
    const { m, v } = this;
    for (const r of ranges) {
      for (let k = 0; k < r.length; k++) {
        const j = r.grad + k;
        const g = grads[j]!;
        const mj = beta1 * m[j]! + (1 - beta1) * g;
        const vj = beta2 * v[j]! + (1 - beta2) * g * g;
        m[j] = mj;
        v[j] = vj;
        weights[r.weight + k]! -= (learningRate * (mj / c1)) / (Math.sqrt(vj / c2) + epsilon);
      }
    }
    this.iterations = t;
  }
}

/** Plain gradient descent. */
export class FlatSgd implements FlatOptimizer {
  iterations = 0;

  constructor(readonly learningRate: number) {
    if (!(learningRate >= 0)) throw new Error(`sgd: learningRate must be >= 0, got ${learningRate}`);
  }

  apply(weights: Float32Array, grads: Float32Array, ranges: readonly FlatRange[]): void {
    const lr = this.learningRate;
    for (const r of ranges) {
      for (let k = 0; k < r.length; k++) weights[r.weight + k]! -= lr * grads[r.grad + k]!;
    }
    this.iterations++;
  }
}
