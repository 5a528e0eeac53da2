/**
 * Tiny models with closed-form gradients, for the sampler's tests (not part of the package
 * entry point).
 */
import * as tf from '@tensorflow/tfjs';
import type { Condition, Generator, ImageShape, Prior } from '@ppgn/core';

/** The backends every sampler test runs on (wasm registered once per process). */
export { TEST_BACKENDS as BACKENDS, useBackend } from '@ppgn/backend/testing';

/** A deterministic pseudo-random matrix (rows x cols) of values in [-1, 1). */
export function matrix(rows: number, cols: number, seed: number): number[][] {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
  return Array.from({ length: rows }, () => Array.from({ length: cols }, next));
}

/** G(h) = reshape(h A, imageShape): linear, so d/dh of sum(g * G(h)) = g A^T exactly. */
export function linearGenerator(A: number[][], imageShape: ImageShape, id = 'linear'): Generator {
  const a = tf.tensor2d(A);
  return {
    id,
    latentShape: [A.length],
    imageShape,
    describe: () => `linear ${A.length} -> ${imageShape.join('x')}`,
    generate: (h) => tf.tidy(() => tf.reshape(tf.matMul(h as tf.Tensor2D, a), [-1, ...imageShape])) as tf.Tensor4D,
    dispose: () => a.dispose(),
  };
}

/** G(h) = sigmoid(h A + b): images in [0, 1]. */
export function sigmoidGenerator(latent: number, imageShape: ImageShape, seed = 1, id = 'sigmoid'): Generator {
  const p = imageShape[0] * imageShape[1] * imageShape[2];
  const a = tf.tensor2d(matrix(latent, p, seed));
  const b = tf.tensor1d(matrix(1, p, seed + 1)[0]!);
  return {
    id,
    latentShape: [latent],
    imageShape,
    describe: () => `sigmoid ${latent} -> ${imageShape.join('x')}`,
    generate: (h) => tf.tidy(() => tf.reshape(tf.sigmoid(tf.add(tf.matMul(h as tf.Tensor2D, a), b)), [-1, ...imageShape])) as tf.Tensor4D,
    dispose: () => tf.dispose([a, b]),
  };
}

/** log p = -sum((x - target)^2): gradient -2 (x - target). */
export function targetCondition(target: number | number[], imageShape?: ImageShape, id = `target(${String(target)})`): Condition {
  const t = typeof target === 'number' ? tf.scalar(target) : tf.tensor(target, [1, ...(imageShape ?? [target.length, 1, 1])]);
  return {
    id,
    imageShape,
    describe: () => `pixels near ${String(target)}`,
    logProb: (x) => tf.tidy(() => tf.neg(tf.sum(tf.square(tf.sub(x, t)), [1, 2, 3]))) as tf.Tensor1D,
    dispose: () => t.dispose(),
  };
}

/** A linear classifier's log softmax for `classIndex`: log p(c | x) = logSoftmax(flatten(x) W)[c]. */
export function linearClassifier(W: number[][], imageShape: ImageShape, classIndex: number): Condition {
  const w = tf.tensor2d(W);
  const k = W[0]!.length;
  return {
    id: `linear-class(${classIndex})`,
    imageShape,
    describe: () => `class ${classIndex} of a ${k}-way linear classifier`,
    logProb: (x) =>
      tf.tidy(() => {
        const logits = tf.matMul(tf.reshape(x, [x.shape[0], -1]), w);
        const lsm = tf.logSoftmax(logits);
        return tf.reshape(tf.slice(lsm, [0, classIndex], [-1, 1]), [-1]);
      }) as tf.Tensor1D,
    dispose: () => w.dispose(),
  };
}

/** A DAE-like prior on h with R(h) = 0.5 h + c: gradLogProb = R(h) - h = c - 0.5 h. */
export function halfDaePrior(c: number[], id = 'half-dae'): Prior {
  const ct = tf.tensor2d([c]);
  return {
    id,
    space: 'h',
    describe: () => 'R(h) = 0.5 h + c',
    gradLogProb: (h) => tf.tidy(() => tf.sub(ct, tf.mul(h, 0.5))),
    dispose: () => ct.dispose(),
  };
}

/** A pixel prior with R(x) = 0.5 x + c: gradLogProb = c - 0.5 x, in x. */
export function halfPixelPrior(c: number, id = 'half-pixel'): Prior {
  return {
    id,
    space: 'x',
    describe: () => 'R(x) = 0.5 x + c',
    gradLogProb: (_h, x) => tf.tidy(() => tf.sub(c, tf.mul(x, 0.5))),
    dispose: () => {},
  };
}

// ---- float64 reference math -----------------------------------------------------------------

/** [B][n] x [n][p] */
export function matMul(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
}

export function transpose(a: number[][]): number[][] {
  return a[0]!.map((_, j) => a.map((row) => row[j]!));
}

export function zip(a: number[][], b: number[][], f: (x: number, y: number) => number): number[][] {
  return a.map((row, i) => row.map((v, j) => f(v, b[i]![j]!)));
}

export function mapM(a: number[][], f: (x: number, i: number, j: number) => number): number[][] {
  return a.map((row, i) => row.map((v, j) => f(v, i, j)));
}

export function rows(values: ArrayLike<number>, cols: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < values.length; i += cols) out.push(Array.from(values).slice(i, i + cols));
  return out;
}

export function meanAbs(row: number[]): number {
  return row.reduce((s, v) => s + Math.abs(v), 0) / row.length;
}

export function l2(row: number[]): number {
  return Math.sqrt(row.reduce((s, v) => s + v * v, 0));
}

/** Largest absolute difference, relative to max(1, |expected|). */
export function maxRelDiff(actual: number[][], expected: number[][]): number {
  let worst = 0;
  actual.forEach((row, i) => {
    row.forEach((v, j) => {
      const e = expected[i]![j]!;
      worst = Math.max(worst, Math.abs(v - e) / Math.max(1, Math.abs(e)));
    });
  });
  return worst;
}
