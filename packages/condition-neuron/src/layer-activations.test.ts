import { Rng } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { layerActivations } from './layer-activations.js';
import { BACKENDS, maxDiff, smallNet, useBackend } from './test-helpers.js';

const SHAPE: [number, number, number] = [10, 10, 3];

/** The layer's activations [B, ...] as nested arrays, read from an independent sub-model. */
function reference(model: tf.LayersModel, layer: string, x: tf.Tensor): number[][][][] | number[][] {
  const sub = tf.model({ inputs: model.inputs, outputs: model.getLayer(layer).output as tf.SymbolicTensor });
  const out = sub.predict(x) as tf.Tensor;
  const values = out.arraySync() as number[][][][] | number[][];
  out.dispose();
  return values;
}

for (const backend of BACKENDS) {
  describe(`layerActivations on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    it('reads whole layers and single units, in batches, leaking nothing', () => {
      const model = smallNet(SHAPE, 9);
      const x = new Rng(10).uniformTensor([5, ...SHAPE]) as tf.Tensor4D;
      const conv = reference(model, 'conv2', x) as number[][][][];
      const whole = layerActivations(model, 'conv2', x, { batchSize: 2 });
      expect(whole.shape).toEqual([5, 6, 6, 5]);
      expect(maxDiff(whole.dataSync(), conv.flat(3))).toBeLessThan(1e-5);
      const centreUnit = layerActivations(model, 'conv2', x, { unit: 3 });
      expect(maxDiff(centreUnit.dataSync(), conv.map((a) => a[3]![3]![3]!))).toBeLessThan(1e-5);
      const channel = (b: number) => conv[b]!.flatMap((row) => row.map((v) => v[1]!));
      const max = layerActivations(model, 'conv2', x, { unit: 1, position: 'max', batchSize: 3 });
      expect(maxDiff(max.dataSync(), [0, 1, 2, 3, 4].map((b) => Math.max(...channel(b))))).toBeLessThan(1e-5);
      const mean = layerActivations(model, 'conv2', x, { unit: 1, position: 'mean' });
      expect(maxDiff(mean.dataSync(), [0, 1, 2, 3, 4].map((b) => channel(b).reduce((a, v) => a + v, 0) / 36))).toBeLessThan(1e-5);
      const at = layerActivations(model, 'conv2', x, { unit: 4, position: [2, 5] });
      expect(maxDiff(at.dataSync(), conv.map((a) => a[2]![5]![4]!))).toBeLessThan(1e-5);
      const dense = layerActivations(model, 'fc', x, { unit: 0, batchSize: 4 });
      expect(dense.shape).toEqual([5]);
      expect(maxDiff(dense.dataSync(), (reference(model, 'fc', x) as number[][]).map((a) => a[0]!))).toBeLessThan(1e-5);
      tf.dispose([whole, centreUnit, max, mean, at, dense]);
      const before = tf.memory().numTensors;
      tf.dispose(layerActivations(model, 'conv2', x, { unit: 1, position: 'max', batchSize: 2 }));
      tf.dispose(layerActivations(model, 'fc', x, { batchSize: 2 }));
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
    });
  });
}

describe('layerActivations errors', () => {
  it('names unknown layers and refuses positions without a unit or on dense layers', () => {
    const model = smallNet(SHAPE, 1);
    const x = tf.zeros([1, ...SHAPE]) as tf.Tensor4D;
    expect(() => layerActivations(model, 'conv5', x)).toThrow(
      "layerActivations: no layer named 'conv5'; the model's layers are 'conv1', 'conv2', 'flatten', 'fc', 'fc_relu', 'out'",
    );
    expect(() => layerActivations(model, 'conv2', x, { position: 'max' })).toThrow('layerActivations: position needs a unit');
    expect(() => layerActivations(model, 'fc', x, { unit: 0, position: 'max' })).toThrow(
      "layerActivations: layer 'fc' is a dense layer with no spatial positions; leave position unset",
    );
    expect(() => layerActivations(model, 'conv2', x, { unit: 9 })).toThrow(
      "layerActivations: unit 9 is out of range; layer 'conv2' has 5 channels, 0..4",
    );
    expect(() => layerActivations(model, 'conv2', x, { unit: 0, position: [0, 6] })).toThrow(/position \[0,6\] is outside layer 'conv2'/);
    x.dispose();
  });
});
