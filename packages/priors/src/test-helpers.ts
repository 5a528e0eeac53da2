import * as tf from '@tensorflow/tfjs';
import { type Encoder, type ImageShape, Rng } from '@ppgn/core';

/** A fixed random conv encoder E(x) -> [B, codeSize] for tests (seeded weights). */
export function tinyEncoder(imageShape: ImageShape, codeSize: number, seed = 7, id = 'tiny-encoder'): Encoder & { model: tf.LayersModel } {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed * 31 + k });
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: imageShape, filters: 4, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init(1) }),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: codeSize, kernelInitializer: init(2) }),
    ],
  });
  return {
    id,
    model,
    imageShape,
    codeShape: [codeSize],
    encode: (x) => tf.tidy(() => model.apply(x) as tf.Tensor2D),
    describe: () => `tiny encoder ${imageShape.join('x')} -> ${codeSize}`,
    dispose: () => model.dispose(),
  };
}

/** Max |a - b| over two tensors. */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** N images of one bright axis-aligned rectangle on a dark background, seeded. */
export function rectangles(n: number, shape: ImageShape, seed = 3): tf.Tensor4D {
  const [h, w, c] = shape;
  const rng = new Rng(seed);
  const data = new Float32Array(n * h * w * c);
  for (let i = 0; i < n; i++) {
    const y0 = rng.int(h - 6);
    const x0 = rng.int(w - 6);
    const y1 = y0 + 4 + rng.int(h - y0 - 4);
    const x1 = x0 + 4 + rng.int(w - x0 - 4);
    const colour = Array.from({ length: c }, () => 0.5 + 0.5 * rng.uniform());
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        for (let k = 0; k < c; k++) data[((i * h + y) * w + x) * c + k] = colour[k]!;
      }
    }
  }
  return tf.tensor4d(data, [n, h, w, c]);
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
