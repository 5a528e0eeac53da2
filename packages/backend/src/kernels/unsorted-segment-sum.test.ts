import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareKernel, expectNoLeaks, pick, randomValues, relativeError, seeded, setupBackends } from './test-utils.js';

describe('UnsortedSegmentSum on wasm', () => {
  beforeAll(setupBackends);

  it('matches cpu over shapes, segment counts and repeated ids', async () => {
    const rand = seeded(5);
    for (let k = 0; k < 30; k++) {
      const rows = pick([1, 2, 5, 17, 64], rand);
      const rest = pick([[], [1], [3], [4, 2], [2, 3, 5]], rand);
      const numSegments = pick([1, 3, 8, 40], rand);
      const ids = Int32Array.from({ length: rows }, () => Math.floor(rand() * numSegments));
      const shape = [rows, ...rest];
      const { error, wasm } = await compareKernel(
        'UnsortedSegmentSum',
        { x: { shape, values: randomValues(shape, rand) }, segmentIds: { shape: [rows], values: ids, dtype: 'int32' } },
        { numSegments },
      );
      expect(wasm.shape).toEqual([numSegments, ...rest]);
      expect(error, JSON.stringify({ rows, rest, numSegments })).toBeLessThan(1e-4);
    }
  });

  it('drops out-of-range ids like cpu, and sums int32 data exactly', async () => {
    const x = { shape: [6, 2], values: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) };
    const segmentIds = { shape: [6], values: Int32Array.from([2, -1, 0, 2, 5, 0]), dtype: 'int32' as const };
    const { cpu, wasm } = await compareKernel('UnsortedSegmentSum', { x, segmentIds }, { numSegments: 3 });
    expect(Array.from(wasm.values)).toEqual(Array.from(cpu.values));
    expect(Array.from(wasm.values)).toEqual([5 + 11, 6 + 12, 0, 0, 1 + 7, 2 + 8]);

    const xi = { shape: [4], values: Int32Array.from([5, -7, 100, 3]), dtype: 'int32' as const };
    const ids = { shape: [4], values: Int32Array.from([1, 1, 0, 3]), dtype: 'int32' as const };
    await tf.setBackend('wasm');
    const out = tf.unsortedSegmentSum(tf.tensor(xi.values, xi.shape, 'int32'), tf.tensor1d(ids.values, 'int32'), 4);
    expect(out.dtype).toBe('int32');
    expect(Array.from(out.dataSync())).toEqual([100, -2, 0, 3]);
    out.dispose();
  });

  it('gives embeddings (gather) the gradient cpu gives', async () => {
    const rand = seeded(6);
    const table = randomValues([20, 6], rand);
    const idx = Int32Array.from({ length: 30 }, () => Math.floor(rand() * 20));
    const grad = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      return tf.tidy(() =>
        tf
          .grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, tf.tensor2d(idx, [5, 6], 'int32')))))(tf.tensor2d(table, [20, 6]))
          .dataSync(),
      );
    };
    expect(relativeError(await grad('wasm'), await grad('cpu'))).toBeLessThan(1e-4);
  });

  it('leaks no tensors or wasm buffers', async () => {
    const x = tf.randomNormal([10, 3]);
    const ids = tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2, 9, -1], 'int32');
    await expectNoLeaks(() => tf.unsortedSegmentSum(x, ids, 5).dispose());
    tf.dispose([x, ids]);
  });
});
