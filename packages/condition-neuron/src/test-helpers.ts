// Helpers for this package's tests: a tiny seeded model and backend selection.
import { Rng } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs';

/** The backends every test file runs on. */
export { TEST_BACKENDS as BACKENDS, useBackend } from '@ppgn/backend/testing';

/**
 * conv1 (6 channels, 3x3, relu) -> conv2 (5 channels, 3x3, linear) -> flatten ->
 * fc (8 units, linear) -> relu -> out (3, softmax), on [h, w, c] images, with seeded weights.
 */
export function smallNet(shape: [number, number, number], seed: number): tf.LayersModel {
  const m = tf.sequential({ name: 'small_net' });
  m.add(tf.layers.conv2d({ inputShape: shape, filters: 6, kernelSize: 3, activation: 'relu', name: 'conv1' }));
  m.add(tf.layers.conv2d({ filters: 5, kernelSize: 3, name: 'conv2' }));
  m.add(tf.layers.flatten({ name: 'flatten' }));
  m.add(tf.layers.dense({ units: 8, name: 'fc' }));
  m.add(tf.layers.reLU({ name: 'fc_relu' }));
  m.add(tf.layers.dense({ units: 3, activation: 'softmax', name: 'out' }));
  const rng = new Rng(seed);
  const values = m.getWeights().map((w) => rng.normalTensor(w.shape, 0, 0.3));
  m.setWeights(values);
  tf.dispose(values);
  return m;
}

/** Largest absolute difference between two arrays. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}
