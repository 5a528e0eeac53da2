import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { stockWasmKernel } from './register.js';
import { compareKernel, expectNoLeaks, pick, randomValues, seeded, setupBackends } from './test-utils.js';

type Pad = 'same' | 'valid' | number;

describe('MaxPoolGrad on wasm', () => {
  beforeAll(setupBackends);

  it('matches cpu over pool sizes, strides, paddings, shapes and negative inputs', async () => {
    const rand = seeded(9);
    let cases = 0;
    while (cases < 50) {
      const fh = pick([1, 2, 3, 4], rand);
      const fw = pick([fh, fh, 2, 3], rand);
      const pad = pick<Pad>(['same', 'valid', 'same', 'valid', 1], rand);
      const filterSize: [number, number] = typeof pad === 'number' ? [fh, fh] : [fh, fw];
      const strides = pick<number | [number, number]>([1, 2, 2, 3, [1, 2], [2, 1]], rand);
      const x = [pick([1, 2, 3], rand), fh + pick([0, 1, 3, 6], rand), fh + pick([0, 2, 5], rand), pick([1, 3, 8], rand)] as [number, number, number, number];
      const info = tf.backend_util.computePool2DInfo(x, filterSize, strides, 1, pad);
      if (info.outShape.some((d) => d <= 0)) continue;
      cases++;
      // Shift some inputs below zero entirely: the stock kernel fails exactly there.
      const values = randomValues(x, rand).map((v) => v - (rand() < 0.5 ? 2 : 0));
      const { error } = await compareKernel(
        'MaxPoolGrad',
        { dy: { shape: info.outShape, values: randomValues(info.outShape, rand) }, input: { shape: x, values }, output: { shape: info.outShape, values: new Float32Array(info.outShape.reduce((a, b) => a * b, 1)) } },
        { filterSize, strides, pad },
      );
      expect(error, JSON.stringify({ x, filterSize, strides, pad })).toBeLessThan(1e-4);
    }
  });

  it('breaks ties like cpu (first maximum of the window)', async () => {
    const x = { shape: [1, 4, 4, 2], values: new Float32Array(32).fill(0) };
    x.values[5] = 1;
    const dy = { shape: [1, 2, 2, 2], values: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]) };
    const { cpu, wasm } = await compareKernel('MaxPoolGrad', { dy, input: x, output: dy }, { filterSize: 2, strides: 2, pad: 'valid' });
    expect(Array.from(wasm.values)).toEqual(Array.from(cpu.values));
  });

  it('gives windows with a negative maximum their gradient (the stock kernel does not)', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d([-3, -1, -2, -4], [1, 2, 2, 1]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(x);
    expect(Array.from(g.dataSync())).toEqual([0, 1, 0, 0]);
    const stock = stockWasmKernel('MaxPoolGrad');
    const dy = tf.ones([1, 1, 1, 1]);
    const backend = tf.backend();
    const info = stock?.kernelFunc({ inputs: { dy, input: x, output: dy }, attrs: { filterSize: 2, strides: 2, pad: 'valid' }, backend }) as tf.TensorInfo;
    expect(Array.from(backend.readSync(info.dataId) as Float32Array)).not.toEqual([0, 1, 0, 0]);
    backend.disposeData(info.dataId);
    tf.dispose([x, g, dy]);
  });

  it('leaks no tensors or wasm buffers', async () => {
    const x = tf.randomNormal([2, 8, 8, 3]);
    await expectNoLeaks(() => tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 3, 2, 'same')))(x).dispose());
    x.dispose();
  });
});
