import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackends } from './test-utils.js';

describe('Identity on wasm', () => {
  beforeAll(setupBackends);

  it('shares the buffer of its input, which lives until the last tensor on it is disposed', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory();
    const x = tf.tensor2d([
      [1, 2],
      [3, -4],
    ]);
    const buffers = tf.memory().numDataBuffers;
    const y = tf.clone(x);
    // One buffer, two tensors: the stock kernel made a second buffer.
    expect(y.dataId).toBe(x.dataId);
    expect(tf.backend().refCount(y.dataId)).toBe(2);
    expect(tf.memory().numDataBuffers).toBe(buffers);
    x.dispose();
    expect(y.arraySync()).toEqual([
      [1, 2],
      [3, -4],
    ]);
    // A new tensor must not land on the buffer y still holds.
    const z = tf.fill([2, 2], 7);
    expect(y.arraySync()).toEqual([
      [1, 2],
      [3, -4],
    ]);
    y.dispose();
    z.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers);
  });

  it('keeps clones and gradients equal to cpu through a small dense model', async () => {
    const grads: Record<string, number[]> = {};
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const start = tf.memory().numTensors;
      const model = tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [3], units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
          tf.layers.leakyReLU({ alpha: 0.2 }),
          tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
        ],
      });
      const x = tf.tensor2d([
        [0.5, -1, 2],
        [1, 0.25, -0.5],
      ]);
      const g = tf.grad((input: tf.Tensor) => tf.sum(model.apply(tf.clone(input)) as tf.Tensor))(x);
      grads[backend] = Array.from(g.dataSync());
      tf.dispose([x, g]);
      model.dispose();
      expect(tf.memory().numTensors).toBe(start);
    }
    for (const [i, v] of grads.wasm!.entries()) expect(v).toBeCloseTo(grads.cpu![i]!, 5);
  });
});
