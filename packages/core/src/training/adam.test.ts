import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Adam } from './adam.js';

function tinyModel(seed: number): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [3], units: 4, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

describe('Adam', () => {
  it('takes the same steps as tf.train.adam', async () => {
    await tf.setBackend('cpu');
    const a = tinyModel(1);
    const b = tinyModel(1);
    const x = tf.tensor2d([[1, 2, 3], [-1, 0.5, 2]]);
    const loss = (m: tf.LayersModel) => () => tf.mean(tf.square(tf.sub(m.apply(x) as tf.Tensor, 1))) as tf.Scalar;
    const ours = new Adam(a, { learningRate: 0.05, beta1: 0.8, beta2: 0.9 });
    const theirs = tf.train.adam(0.05, 0.8, 0.9, 1e-8);
    for (let i = 0; i < 5; i++) {
      const { value, grads } = tf.variableGrads(loss(a), ours.vars as tf.Variable[]);
      ours.apply(ours.vars.map((v) => grads[v.name]!));
      tf.dispose([value, ...Object.values(grads)]);
      tf.dispose(theirs.minimize(loss(b), true, b.trainableWeights.map((w) => w.read() as tf.Variable)) ?? []);
    }
    expect(ours.iterations).toBe(5);
    a.getWeights().forEach((w, i) => {
      const d = tf.tidy(() => tf.max(tf.abs(tf.sub(w, b.getWeights()[i]!))).dataSync()[0]!);
      expect(d).toBeLessThan(1e-5);
    });
    // the state round-trips into a fresh optimizer
    const c = new Adam(a, { learningRate: 0.05 });
    c.setState(ours.stateTensors('G/'), ours.iterations, 'G/');
    expect(c.iterations).toBe(5);
    expect(Array.from(c.stateTensors()['v/1']!.dataSync())).toEqual(Array.from(ours.stateTensors()['v/1']!.dataSync()));
    expect(() => c.setState({}, 1)).toThrow('Adam: saved state has no "m/0"');
    for (const o of [ours, c]) o.dispose();
    theirs.dispose();
    tf.dispose([x]);
    a.dispose();
    b.dispose();
  });
});
