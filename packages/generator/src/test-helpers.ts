import * as tf from '@tensorflow/tfjs';
import type { Encoder, ImageShape } from '@ppgn/core';
import { Rng } from '@ppgn/core';

/** A fixed random conv encoder E(x) -> [B, codeSize] for tests (seeded weights). */
export function tinyEncoder(imageShape: ImageShape, codeSize: number, seed = 7, id = 'tiny-encoder'): Encoder & { model: tf.LayersModel } {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed * 31 + k });
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: imageShape, filters: 8, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init(1) }),
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

/** Every weight of a model as flat arrays (a snapshot). */
export function snapshot(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => Float32Array.from(w.dataSync()));
}

/** Largest absolute difference between two snapshots. */
export function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((x, i) => {
    const y = b[i]!;
    for (let j = 0; j < x.length; j++) m = Math.max(m, Math.abs(x[j]! - y[j]!));
  });
  return m;
}
