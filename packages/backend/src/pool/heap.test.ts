import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackends } from '../kernels/test-utils.js';
import { readInto, writeVariable } from './heap.js';

describe('moving weights between variables and flat buffers', () => {
  beforeAll(setupBackends);

  for (const backend of ['wasm', 'cpu']) {
    it(`writes a variable and reads tensors back into a buffer on ${backend}`, async () => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const v = tf.tidy(() => tf.variable(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3])));
      const values = new Float32Array([6, 5, 4, 3, 2, 1]);
      writeVariable(v, values);
      values.fill(0); // the variable must not keep the caller's array
      expect(Array.from(v.dataSync())).toEqual([6, 5, 4, 3, 2, 1]);

      const out = new Float32Array(10).fill(-1);
      readInto(v, out, 2);
      expect(Array.from(out)).toEqual([-1, -1, 6, 5, 4, 3, 2, 1, -1, -1]);
      expect(() => writeVariable(v, new Float32Array(5))).toThrow('writeVariable: 5 values for');
      v.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('reads a tensor made on another backend after switching to wasm', async () => {
    await tf.setBackend('cpu');
    const t = tf.tensor1d([1.5, -2, 3]);
    await tf.setBackend('wasm');
    const out = new Float32Array(3);
    readInto(t, out, 0);
    expect(Array.from(out)).toEqual([1.5, -2, 3]);
    t.dispose();
  });

  it('gives a written variable a new buffer: clones keep the old values, a conv sees the new ones', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const filter = tf.tidy(() => tf.variable(tf.ones([2, 2, 1, 1])));
    // the conv kernel packs the filter once per buffer and reuses the packed copy
    const first = tf.conv2d(x, filter as tf.Tensor4D, 1, 'valid');
    const held = tf.clone(filter);
    writeVariable(filter, new Float32Array([1, 0, 0, -1]));
    const second = tf.conv2d(x, filter as tf.Tensor4D, 1, 'valid');
    expect(Array.from(first.dataSync())).toEqual([12, 16, 24, 28]);
    expect(Array.from(second.dataSync())).toEqual([-4, -4, -4, -4]);
    expect(Array.from(held.dataSync())).toEqual([1, 1, 1, 1]);
    tf.dispose([x, filter, first, held, second]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
