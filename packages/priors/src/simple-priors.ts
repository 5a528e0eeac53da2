import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import type { Prior } from '@ppgn/core';

/** Options of `l2DecayPrior`. */
export interface L2DecayPriorOptions {
  /** Decay rate: the direction is -decay * h. DGN-AM's `h *= 0.99` per step is decay 0.01 with a plain step of 1. */
  decay: number;
}

/**
 * DGN-AM's hand-made prior: an L2 penalty on h, d log p(h)/dh = -decay * h (a Gaussian
 * with variance 1/decay). Space 'h'.
 */
export function l2DecayPrior(options: L2DecayPriorOptions): Prior {
  const { decay } = options;
  if (!(Number.isFinite(decay) && decay >= 0)) throw new Error(`l2DecayPrior: decay must be a finite number >= 0, got ${decay}`);
  return {
    id: `l2-decay(${decay})`,
    space: 'h',
    gradLogProb: (h: Tensor) => tf.mul(h, -decay),
    describe: () => `L2 decay prior: -${decay} * h`,
    dispose() {},
  };
}

/** Options of `gaussianPrior`. */
export interface GaussianPriorOptions {
  /** Mean: one number, or one per element of a code. Default 0. */
  mean?: number | number[];
  /** Standard deviation: one positive number, or one per element of a code. Default 1. */
  std?: number | number[];
}

/**
 * An isotropic (or diagonal) Gaussian prior N(mean, std^2) on h:
 * d log p(h)/dh = -(h - mean) / std^2. Space 'h'.
 */
export function gaussianPrior(options: GaussianPriorOptions = {}): Prior {
  const who = 'gaussianPrior';
  const mean = options.mean ?? 0;
  const std = options.std ?? 1;
  const means = typeof mean === 'number' ? [mean] : mean;
  const stds = typeof std === 'number' ? [std] : std;
  if (!means.every(Number.isFinite)) throw new Error(`${who}: mean must be finite`);
  if (!stds.every((s) => Number.isFinite(s) && s > 0)) throw new Error(`${who}: std must be positive`);
  if (Array.isArray(mean) && Array.isArray(std) && mean.length !== std.length) {
    throw new Error(`${who}: mean has ${mean.length} values but std has ${std.length}`);
  }
  const perDim = Array.isArray(mean) || Array.isArray(std);
  const size = Math.max(means.length, stds.length);
  // Kept tensors: [1, size] rows, or scalars.
  const meanT = tf.keep(perDim ? tf.tensor2d(means.length === 1 ? Array(size).fill(means[0]) : means, [1, size]) : tf.scalar(means[0]!));
  const precT = tf.keep(
    perDim ? tf.tensor2d((stds.length === 1 ? Array(size).fill(stds[0]) : stds).map((s) => 1 / (s * s)), [1, size]) : tf.scalar(1 / (stds[0]! * stds[0]!)),
  );
  let disposed = false;
  const fmt = (v: number | number[]) => (typeof v === 'number' ? String(v) : `[${v.length} values]`);
  return {
    id: `gaussian(mean=${fmt(mean)}, std=${fmt(std)})`,
    space: 'h',
    gradLogProb(h: Tensor): Tensor {
      if (disposed) throw new Error(`${who}: gradLogProb called after dispose`);
      if (!perDim) return tf.tidy(() => tf.mul(tf.sub(meanT, h), precT));
      const n = h.shape.slice(1).reduce((a, b) => a * b, 1);
      if (n !== size) throw new Error(`${who}: mean/std have ${size} values but h is ${h.shape.slice(1).join('x')}-d`);
      return tf.tidy(() => {
        const flat = tf.reshape(h, [h.shape[0]!, n]);
        return tf.reshape(tf.mul(tf.sub(meanT, flat), precT), h.shape);
      });
    },
    describe: () => `Gaussian prior N(${fmt(mean)}, ${fmt(std)}^2): -(h - mean) / std^2`,
    dispose() {
      if (disposed) return;
      disposed = true;
      tf.dispose([meanT, precT]);
    },
  };
}
