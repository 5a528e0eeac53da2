import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Encoder, ImageShape } from '../interfaces.js';
import { Rng } from '../rng.js';

export interface TinyEncoderOptions {
  /** Filters of the one strided conv. Default 8. */
  filters?: number;
  /** Weight seed. Default 7. */
  seed?: number;
  id?: string;
}

/** A fixed random conv encoder E(x) -> [B, codeSize] for tests: conv 3x3 stride 2, LeakyReLU, dense. */
export function tinyEncoder(imageShape: ImageShape, codeSize: number, options: TinyEncoderOptions = {}): Encoder & { model: tfl.LayersModel } {
  const { filters = 8, seed = 7, id = 'tiny-encoder' } = options;
  const init = (k: number) => tfl.initializers.glorotUniform({ seed: seed * 31 + k });
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: imageShape, filters, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init(1) }),
      tfl.layers.leakyReLU({ alpha: 0.2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: codeSize, kernelInitializer: init(2) }),
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

/**
 * One dense layer [inputs] -> [units] with a Glorot-uniform kernel seeded by `seed` (zero
 * bias): the smallest trainable model, for optimizer, step and checkpoint tests.
 */
export function seededDense(inputs: number, units: number, seed: number): tfl.Sequential {
  return tfl.sequential({
    layers: [tfl.layers.dense({ inputShape: [inputs], units, kernelInitializer: tfl.initializers.glorotUniform({ seed }) })],
  });
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
