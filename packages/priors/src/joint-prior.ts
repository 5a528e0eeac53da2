import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { type Encoder, type Prior, shapeToString } from '@ppgn/core';

/** Options of `jointPrior`. */
export interface JointPriorOptions {
  /** E, the encoder G was trained to invert (jointly, with the code loss, for Joint PPGN-h). Not disposed by the prior. */
  encoder: Encoder;
  /** Divides the direction by sigma^2 (the DAE reading). Default 1: E(x) - h. */
  sigma?: number;
  /** Default `joint-prior(<encoder id>)`. */
  id?: string;
}

/**
 * Joint PPGN-h's prior: G and E together are the DAE on h, R(h) = E(G(h)), so
 * d log p(h)/dh ~ (E(x) - h) / sigma^2 with x = G(h) handed in by the sampler (no second G
 * pass). Space 'h'. The encoder is shared (with training, often with a condition), so
 * `dispose()` leaves it alone.
 */
export function jointPrior(options: JointPriorOptions): Prior {
  const who = 'jointPrior';
  const E = options.encoder;
  const sigma = options.sigma ?? 1;
  if (!(Number.isFinite(sigma) && sigma > 0)) throw new Error(`${who}: sigma must be a positive number, got ${sigma}`);
  const n = E.codeShape.reduce((a, b) => a * b, 1);
  const inv = 1 / (sigma * sigma);
  return {
    id: options.id ?? `joint-prior(${E.id})`,
    space: 'h',
    gradLogProb(h: Tensor, x: Tensor4D): Tensor {
      if (x === undefined) throw new Error(`${who}: needs the images x = G(h)`);
      const size = h.shape.slice(1).reduce((a, b) => a * b, 1);
      if (h.rank < 2 || size !== n) {
        throw new Error(`${who}: encoder ${E.id} gives ${shapeToString(E.codeShape)}-d codes but h is ${h.shape.slice(1).join('x')}-d`);
      }
      const img = x.shape.slice(1);
      if (x.rank !== 4 || img.some((d, i) => d !== E.imageShape[i])) {
        throw new Error(`${who}: encoder ${E.id} takes ${shapeToString(E.imageShape)} images but x is ${shapeToString(img)}`);
      }
      if (x.shape[0] !== h.shape[0]) {
        throw new Error(`${who}: h has ${h.shape[0]} codes but x has ${x.shape[0]} images`);
      }
      return tf.tidy(() => {
        const d = tf.sub(tf.reshape(E.encode(x), h.shape), h);
        return inv === 1 ? d : tf.mul(d, inv);
      });
    },
    describe: () => `joint prior (E(G(h)) - h)${sigma === 1 ? '' : ` / ${sigma}^2`} with encoder ${E.id}`,
    dispose() {},
  };
}
