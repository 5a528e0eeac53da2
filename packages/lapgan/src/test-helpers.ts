/**
 * Shared by the tests (not part of the package entry point): backends, tiny configs and
 * small deterministic data sets.
 */
import { Rng } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs';
import type { PyramidConfig } from './spec.js';

/** The backends every test runs on (wasm registered with the training kernels once per process). */
export { TEST_BACKENDS as BACKENDS, useBackend } from '@ppgn/backend/testing';

/** A tiny class-conditional pyramid: 4 -> 8 -> 16, small networks. */
export function tinyConfig(overrides: Partial<PyramidConfig> = {}): PyramidConfig {
  return {
    sizes: [4, 8, 16],
    channels: 3,
    numClasses: 3,
    base: { noiseDim: 8, gHidden: [32], dHidden: [32], dropout: 0.5 },
    refine: { gFilters: [8], gKernel: 3, gOutKernel: 3, dFilters: 8, dKernel: 3 },
    ...overrides,
  };
}

/**
 * n images [n, size, size, channels] in [0, 1] with labels 0..classes-1 in turn: class c is
 * a smooth gradient whose direction and colour depend on c, plus a little noise, so the
 * classes are easy to tell apart at every scale.
 */
export function toyData(n: number, size: number, channels: number, classes: number, seed = 1): { images: tf.Tensor4D; labels: number[] } {
  const rng = new Rng(seed);
  const data = new Float32Array(n * size * size * channels);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = classes > 0 ? i % classes : 0;
    labels.push(c);
    const angle = (2 * Math.PI * c) / Math.max(1, classes);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const t = ((x / (size - 1) - 0.5) * Math.cos(angle) + (y / (size - 1) - 0.5) * Math.sin(angle)) * 0.8 + 0.5;
        for (let ch = 0; ch < channels; ch++) {
          const tint = channels === 1 ? 1 : 0.5 + 0.5 * Math.cos(angle + (2 * Math.PI * ch) / 3);
          const v = t * tint + 0.05 * rng.normal();
          data[((i * size + y) * size + x) * channels + ch] = Math.min(1, Math.max(0, v));
        }
      }
    }
  }
  return { images: tf.tensor4d(data, [n, size, size, channels]), labels };
}

/** Largest absolute difference between two tensors. */
export function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}
