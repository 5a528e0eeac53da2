import * as tf from '@tensorflow/tfjs';
import { Rng } from '@ppgn/core';

/** Max |a - b| over two tensors. */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** Codes on a random `dim`-dimensional subspace of R^size: h = z A, z ~ N(0, 1); A has orthonormal rows. */
export function subspace(size: number, dim: number, seed = 1): { basis: tf.Tensor2D; sample(n: number, rng: Rng): tf.Tensor2D } {
  const basis = tf.tidy(() => {
    // Gram-Schmidt on random rows
    const rng = new Rng(seed);
    const rows: Float32Array[] = [];
    for (let i = 0; i < dim; i++) {
      const v = rng.normalArray(size);
      for (const r of rows) {
        let dot = 0;
        for (let j = 0; j < size; j++) dot += v[j]! * r[j]!;
        for (let j = 0; j < size; j++) v[j]! -= dot * r[j]!;
      }
      const norm = Math.hypot(...v);
      rows.push(v.map((x) => x / norm));
    }
    return tf.tensor2d(rows.map((r) => Array.from(r)));
  });
  return {
    basis,
    sample: (n, rng) => tf.tidy(() => tf.matMul(rng.normalTensor([n, dim]) as tf.Tensor2D, basis)),
  };
}

/** Mean distance of codes h [N, size] to the row space of `basis` [dim, size]. */
export function distanceToSubspace(h: tf.Tensor, basis: tf.Tensor2D): number {
  return tf.tidy(() => {
    const proj = tf.matMul(tf.matMul(h as tf.Tensor2D, basis, false, true), basis);
    return tf.mean(tf.norm(tf.sub(h, proj), 'euclidean', 1)).dataSync()[0]!;
  });
}
