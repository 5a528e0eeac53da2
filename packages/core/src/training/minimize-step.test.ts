import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Adam } from './adam.js';
import { minimizeStep, NonFiniteLossError } from './loop.js';

function tinyModel(seed: number): tf.LayersModel {
  return tf.sequential({
    layers: [tf.layers.dense({ inputShape: [3], units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed }) })],
  });
}

const weights = (m: tf.LayersModel) => m.getWeights().flatMap((w) => Array.from(w.dataSync()));

describe('minimizeStep', () => {
  it('applies the same update as variableGrads + apply, returns the loss and frees every gradient', async () => {
    await tf.setBackend('cpu');
    const x = tf.tensor2d([[1, 2, 3], [-1, 0.5, 2]]);
    const a = tinyModel(1);
    const b = tinyModel(1);
    const optA = new Adam(a, { learningRate: 0.1 });
    const optB = new Adam(b, { learningRate: 0.1 });
    const lossOf = (m: tf.LayersModel) => () => tf.mean(tf.square(tf.sub(m.apply(x) as tf.Tensor, 1))) as tf.Scalar;
    const expected = tf.tidy(() => lossOf(a)().dataSync()[0]!);
    const before = tf.memory().numTensors;
    const loss = minimizeStep(optA, lossOf(a), 'test', 0);
    expect(tf.memory().numTensors).toBe(before);
    expect(loss).toBeCloseTo(expected, 6);
    const { grads } = tf.variableGrads(lossOf(b), optB.vars as tf.Variable[]);
    optB.apply(optB.vars.map((v) => grads[v.name]!));
    tf.dispose(Object.values(grads));
    expect(weights(a)).toEqual(weights(b));
    expect(minimizeStep(optA, lossOf(a), 'test', 1)).toBeLessThan(loss);
    x.dispose();
    a.dispose();
    b.dispose();
    optA.dispose();
    optB.dispose();
  });

  it('applies nothing when the loss is not finite, naming the caller and step', async () => {
    await tf.setBackend('cpu');
    const x = tf.tensor2d([[1, 2, 3]]);
    const m = tinyModel(2);
    const opt = new Adam(m, { learningRate: 0.1 });
    const start = weights(m);
    const infinite = () => tf.div(tf.sum(m.apply(x) as tf.Tensor), 0) as tf.Scalar;
    const before = tf.memory().numTensors;
    expect(() => minimizeStep(opt, infinite, 'trainThing', 7)).toThrow(NonFiniteLossError);
    expect(() => minimizeStep(opt, infinite, 'trainThing', 7)).toThrow(/^trainThing: loss is -?Infinity at step 7$/);
    expect(tf.memory().numTensors).toBe(before);
    expect(weights(m)).toEqual(start);
    expect(opt.iterations).toBe(0);
    x.dispose();
    m.dispose();
    opt.dispose();
  });
});
