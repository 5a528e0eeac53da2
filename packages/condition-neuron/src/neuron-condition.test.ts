import { inputAdapter } from '@ppgn/condition-classifier';
import { Rng } from '@ppgn/core';
import { describeConditionContract } from '@ppgn/core/testing';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { neuronCondition } from './neuron-condition.js';
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

function logSoftmaxAt(values: number[], k: number): number {
  const max = Math.max(...values);
  const lse = max + Math.log(values.reduce((a, v) => a + Math.exp(v - max), 0));
  return values[k]! - lse;
}

for (const backend of BACKENDS) {
  describe(`neuronCondition on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    describeConditionContract('conv unit, raw activation', () =>
      neuronCondition({ model: smallNet(SHAPE, 1), layer: 'conv2', unit: 3 }),
    );
    describeConditionContract(
      'conv unit at a position, softmax across channels',
      () => neuronCondition({ model: smallNet(SHAPE, 2), layer: 'conv2', unit: 1, position: [1, 4], objective: 'softmax' }),
      { isLogProbability: true },
    );
    describeConditionContract('dense unit, raw activation', () =>
      neuronCondition({ model: smallNet(SHAPE, 3), layer: 'fc', unit: 5 }),
    );
    describeConditionContract(
      'dense unit behind an adapter (16x16x1 -> 10x10x3), softmax',
      () =>
        neuronCondition({
          model: smallNet(SHAPE, 4),
          layer: 'fc',
          unit: 2,
          objective: 'softmax',
          input: inputAdapter({ from: [16, 16, 1], to: SHAPE }),
        }),
      { isLogProbability: true },
    );

    it('equals the activation read from a sub-model, for every objective and layer kind', () => {
      expect(tf.getBackend()).toBe(backend);
      const model = smallNet(SHAPE, 5);
      const x = new Rng(6).uniformTensor([3, ...SHAPE]) as tf.Tensor4D;
      const conv = reference(model, 'conv2', x) as number[][][][];
      const dense = reference(model, 'fc', x) as number[][];
      const cases = [
        { args: { layer: 'conv2', unit: 4 }, expected: (b: number) => conv[b]![3]![3]![4]! },
        { args: { layer: 'conv2', unit: 0, position: [5, 1] as [number, number] }, expected: (b: number) => conv[b]![5]![1]![0]! },
        {
          args: { layer: 'conv2', unit: 2, position: [0, 2] as [number, number], objective: 'softmax' as const },
          expected: (b: number) => logSoftmaxAt(conv[b]![0]![2]!, 2),
        },
        { args: { layer: 'fc', unit: 7 }, expected: (b: number) => dense[b]![7]! },
        { args: { layer: 'fc', unit: 6, objective: 'softmax' as const }, expected: (b: number) => logSoftmaxAt(dense[b]!, 6) },
      ];
      for (const { args, expected } of cases) {
        const values = neuronCondition({ model, ...args }).logProb(x).dataSync();
        expect(maxDiff(values, [0, 1, 2].map(expected))).toBeLessThan(1e-5);
      }
      x.dispose();
    });

    it('gradient ascent on the image raises the unit', () => {
      const model = smallNet(SHAPE, 7);
      for (const args of [
        { layer: 'conv2', unit: 2 },
        { layer: 'fc', unit: 1 },
        { layer: 'conv2', unit: 0, objective: 'softmax' as const },
      ]) {
        const condition = neuronCondition({ model, ...args });
        let x = new Rng(8).uniformTensor([2, ...SHAPE]) as tf.Tensor4D;
        const start = condition.logProb(x).dataSync();
        const grad = tf.grad((xx: tf.Tensor) => tf.sum(condition.logProb(xx as tf.Tensor4D)));
        for (let step = 0; step < 5; step++) {
          const next = tf.tidy(() => {
            const g = grad(x);
            return tf.clipByValue(tf.add(x, tf.mul(tf.div(g, tf.add(tf.mean(tf.abs(g)), 1e-8)), 0.02)), 0, 1) as tf.Tensor4D;
          });
          x.dispose();
          x = next;
        }
        const end = condition.logProb(x).dataSync();
        for (let b = 0; b < 2; b++) expect(end[b]!).toBeGreaterThan(start[b]! + 0.1);
        x.dispose();
      }
    });
  });
}

describe('neuronCondition errors', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('lists the layers for an unknown layer name', () => {
    const model = smallNet(SHAPE, 1);
    expect(() => neuronCondition({ model, layer: 'conv5', unit: 0 })).toThrow(
      "neuronCondition: no layer named 'conv5'; the model's layers are 'conv1', 'conv2', 'flatten', 'fc', 'fc_relu', 'out'",
    );
  });

  it('names the range of units', () => {
    const model = smallNet(SHAPE, 1);
    expect(() => neuronCondition({ model, layer: 'conv2', unit: 5 })).toThrow(
      "neuronCondition: unit 5 is out of range; layer 'conv2' has 5 channels, 0..4",
    );
    expect(() => neuronCondition({ model, layer: 'fc', unit: -1 })).toThrow(
      "neuronCondition: unit -1 is out of range; layer 'fc' has 8 units, 0..7",
    );
  });

  it('refuses a position outside the layer, and a position on a dense layer', () => {
    const model = smallNet(SHAPE, 1);
    expect(() => neuronCondition({ model, layer: 'conv2', unit: 0, position: [6, 0] })).toThrow(
      "neuronCondition: position [6,0] is outside layer 'conv2', whose output is 6x6 (rows 0..5, columns 0..5)",
    );
    expect(() => neuronCondition({ model, layer: 'conv2', unit: 0, position: [1.5, 0] })).toThrow(/position \[1.5,0\] is outside/);
    expect(() => neuronCondition({ model, layer: 'fc', unit: 0, position: [0, 0] })).toThrow(
      "neuronCondition: layer 'fc' is a dense layer with no spatial positions; leave position unset",
    );
  });

  it('refuses a layer with no channels axis', () => {
    const m = tf.sequential({ name: 'seq' });
    m.add(tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 2, kernelSize: 3, name: 'conv' }));
    m.add(tf.layers.reshape({ targetShape: [16, 2], name: 'rows' }));
    expect(() => neuronCondition({ model: m, layer: 'rows', unit: 0 })).toThrow(
      "neuronCondition: layer 'rows' has output shape [?, 16, 2], which has no channels axis; pick a dense layer ([batch, units]) or a 2-D conv layer ([batch, height, width, channels])",
    );
  });

  it('checks image shapes and describes itself', () => {
    const model = smallNet(SHAPE, 1);
    expect(() => neuronCondition({ model, layer: 'conv2', unit: 0, imageShape: [16, 16, 1] })).toThrow(
      'neuronCondition: model expects 10x10x3 images, condition was asked to accept 16x16x1; pass input: inputAdapter({ from: [16, 16, 1], to: [10, 10, 3] })',
    );
    const conv = neuronCondition({ model, layer: 'conv2', unit: 3, objective: 'softmax' });
    expect(conv.id).toBe('neuron(conv2/3@[3,3], softmax)');
    expect(conv.imageShape).toEqual(SHAPE);
    expect(conv.describe()).toBe("log softmax across units of channel 3 of 5 of conv layer 'conv2' at (3, 3) in 'small_net'");
    const dense = neuronCondition({ model, layer: 'fc', unit: 1, input: inputAdapter({ from: [16, 16, 1], to: SHAPE }) });
    expect(dense.id).toBe('neuron(fc/1)');
    expect(dense.imageShape).toEqual([16, 16, 1]);
    expect(dense.describe()).toBe(
      "activation of unit 1 of 8 of dense layer 'fc' in 'small_net', through 16x16x1 -> 10x10x3 (bilinear, grey to rgb)",
    );
  });
});
