// Helpers for this package's tests: tiny seeded models and backend selection.
import { Rng } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs';

/** The backends every test file runs on. */
export { TEST_BACKENDS as BACKENDS, useBackend } from '@ppgn/backend/testing';

/** Replaces every weight of `model` with seeded normals of standard deviation `std`. */
export function seedWeights(model: tf.LayersModel, seed: number, std = 0.3): tf.LayersModel {
  const rng = new Rng(seed);
  const values = model.getWeights().map((w) => rng.normalTensor(w.shape, 0, std));
  model.setWeights(values);
  tf.dispose(values);
  return model;
}

/** Flatten -> Dense(12, relu) -> Dense(classes) logits, on [h, w, c] images. */
export function denseClassifier(shape: [number, number, number], classes: number, seed: number): tf.LayersModel {
  const m = tf.sequential({ name: 'dense_classifier' });
  m.add(tf.layers.flatten({ inputShape: shape, name: 'flatten' }));
  m.add(tf.layers.dense({ units: 12, activation: 'relu', name: 'hidden' }));
  m.add(tf.layers.dense({ units: classes, name: 'logits' }));
  return seedWeights(m, seed);
}

/** Dense(12, relu) -> Dense(classes) logits on flat vectors [n]. */
export function flatClassifier(n: number, classes: number, seed: number): tf.LayersModel {
  const m = tf.sequential({ name: 'flat_classifier' });
  m.add(tf.layers.dense({ inputShape: [n], units: 12, activation: 'relu', name: 'hidden' }));
  m.add(tf.layers.dense({ units: classes, name: 'logits' }));
  return seedWeights(m, seed);
}

/**
 * Conv(4, 3x3, relu) -> MaxPool(2) -> Flatten -> Dense(classes) with a softmax, fused into
 * the Dense layer (`head: 'fused'`) or as a separate layer (`head: 'layer'`).
 */
export function convClassifier(
  shape: [number, number, number],
  classes: number,
  seed: number,
  head: 'fused' | 'layer' = 'fused',
): tf.LayersModel {
  const m = tf.sequential({ name: 'conv_classifier' });
  m.add(tf.layers.conv2d({ inputShape: shape, filters: 4, kernelSize: 3, activation: 'relu', name: 'conv' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }));
  m.add(tf.layers.flatten({ name: 'flatten' }));
  if (head === 'fused') {
    m.add(tf.layers.dense({ units: classes, activation: 'softmax', name: 'probs' }));
  } else {
    m.add(tf.layers.dense({ units: classes, name: 'logits' }));
    m.add(tf.layers.activation({ activation: 'softmax', name: 'probs' }));
  }
  return seedWeights(m, seed);
}

/** Largest absolute difference between two arrays. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/**
 * A GraphModel (tfjs-converter format, built in memory) for a linear classifier on
 * [h, w, c] images: node 'logits' = flatten(x) . W + b, output node 'probs' = softmax(logits).
 */
export async function linearGraphModel(
  shape: [number, number, number],
  w: Float32Array,
  b: Float32Array,
): Promise<tf.GraphModel> {
  const n = shape[0] * shape[1] * shape[2];
  const k = b.length;
  const float = { type: 'DT_FLOAT' };
  const dims = (ds: number[]) => ({ dim: ds.map((d) => ({ size: String(d) })) });
  const constant = (name: string, dtype: string, ds: number[]) => ({
    name,
    op: 'Const',
    attr: { value: { tensor: { dtype, tensorShape: dims(ds) } }, dtype: { type: dtype } },
  });
  const modelTopology = {
    node: [
      { name: 'x', op: 'Placeholder', attr: { dtype: float, shape: { shape: dims([-1, ...shape]) } } },
      constant('flat_shape', 'DT_INT32', [2]),
      constant('W', 'DT_FLOAT', [n, k]),
      constant('b', 'DT_FLOAT', [k]),
      { name: 'flat', op: 'Reshape', input: ['x', 'flat_shape'], attr: { T: float } },
      { name: 'mm', op: 'MatMul', input: ['flat', 'W'], attr: { T: float, transpose_a: { b: false }, transpose_b: { b: false } } },
      { name: 'logits', op: 'BiasAdd', input: ['mm', 'b'], attr: { T: float } },
      { name: 'probs', op: 'Softmax', input: ['logits'], attr: { T: float } },
    ],
    versions: { producer: 1 },
  };
  const weightSpecs: tf.io.WeightsManifestEntry[] = [
    { name: 'flat_shape', shape: [2], dtype: 'int32' },
    { name: 'W', shape: [n, k], dtype: 'float32' },
    { name: 'b', shape: [k], dtype: 'float32' },
  ];
  const data = new ArrayBuffer(8 + 4 * n * k + 4 * k);
  new Int32Array(data, 0, 2).set([-1, n]);
  new Float32Array(data, 8, n * k).set(w);
  new Float32Array(data, 8 + 4 * n * k, k).set(b);
  return tf.loadGraphModel(tf.io.fromMemory({ modelTopology, weightSpecs, weightData: data, format: 'graph-model' }));
}
