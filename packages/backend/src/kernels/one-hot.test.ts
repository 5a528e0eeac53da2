import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { stockWasmKernel } from './register.js';
import { compareKernel, expectNoLeaks, setupBackends } from './test-utils.js';

describe('OneHot on wasm', () => {
  beforeAll(setupBackends);

  it('matches cpu for float32, int32 and out-of-range indices', async () => {
    const indices = { shape: [2, 3], values: Int32Array.from([0, 2, 4, -1, 1, 3]), dtype: 'int32' as const };
    for (const dtype of ['float32', 'int32'] as const) {
      for (const [onValue, offValue] of [
        [1, 0],
        [0.9, 0.025],
        [-3, 7],
      ] as const) {
        const { cpu, wasm } = await compareKernel('OneHot', { indices }, { depth: 4, onValue, offValue, dtype });
        expect(wasm.dtype).toBe(dtype);
        expect(wasm.shape).toEqual([2, 3, 4]);
        expect(Array.from(wasm.values)).toEqual(Array.from(cpu.values));
      }
    }
  });

  it('fixes float32 one-hots, which the stock kernel gets wrong', async () => {
    await tf.setBackend('wasm');
    const labels = tf.tensor1d([1, 0], 'int32');
    const y = tf.oneHot(labels, 3, 1, 0, 'float32');
    expect(y.arraySync()).toEqual([
      [0, 1, 0],
      [1, 0, 0],
    ]);
    // The stock kernel stays callable and still writes int32 words into float32 memory.
    const stock = stockWasmKernel('OneHot');
    expect(stock).toBeDefined();
    const backend = tf.backend();
    const info = stock?.kernelFunc({ inputs: { indices: labels }, attrs: { depth: 3, onValue: 1, offValue: 0, dtype: 'float32' }, backend }) as tf.TensorInfo;
    const raw = backend.readSync(info.dataId) as Float32Array;
    expect(raw[1]).not.toBe(1);
    backend.disposeData(info.dataId);
    tf.dispose([labels, y]);
  });

  it('leaks no tensors or wasm buffers', async () => {
    const labels = tf.tensor1d([1, 0, 2], 'int32');
    await expectNoLeaks(() => tf.oneHot(labels, 3).dispose());
    labels.dispose();
  });
});
