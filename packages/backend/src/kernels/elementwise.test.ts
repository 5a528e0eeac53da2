import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareKernel, expectNoLeaks, randomValues, seeded, setupBackends } from './test-utils.js';

/** Random values with the edge cases mixed in: zeros, infinities and NaN. */
function activations(shape: number[], seed: number): Float32Array {
  const values = randomValues(shape, seeded(seed));
  const edges = [0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, 1e-30, -1e-30];
  edges.forEach((v, i) => {
    values[(i * 7919) % values.length] = v;
  });
  return values;
}

function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Object.is(a[i], b[i]) || a[i] === b[i], `element ${i}: ${a[i]} vs ${b[i]}`).toBe(true);
}

describe('LeakyRelu and Greater on wasm', () => {
  beforeAll(setupBackends);

  it('LeakyRelu equals cpu exactly for any alpha, NaN and infinities included', async () => {
    const x = { shape: [3, 5, 7, 4], values: activations([3, 5, 7, 4], 1) };
    for (const alpha of [0.2, 0.3, 0, 1, 1.5, -0.5]) {
      const { cpu, wasm } = await compareKernel('LeakyRelu', { x }, { alpha });
      sameValues(wasm.values, cpu.values);
    }
  });

  it('Greater equals cpu against a scalar, a same-shape tensor and (stock path) a broadcast row', async () => {
    const a = { shape: [4, 6, 5], values: activations([4, 6, 5], 2) };
    const cases = [
      { a, b: { shape: [], values: Float32Array.of(0) } },
      { a, b: { shape: [1], values: Float32Array.of(-0.25) } },
      { a, b: { shape: [4, 6, 5], values: activations([4, 6, 5], 3) } },
      { a, b: { shape: [5], values: randomValues([5], seeded(4)) } },
      { a: { shape: [6], values: Int32Array.from([3, -1, 0, 7, 2, 2]), dtype: 'int32' as const }, b: { shape: [], values: Int32Array.of(2), dtype: 'int32' as const } },
    ];
    for (const inputs of cases) {
      const { cpu, wasm } = await compareKernel('Greater', inputs, {});
      expect(wasm.dtype).toBe('bool');
      sameValues(wasm.values, cpu.values);
    }
  });

  it('gives a LeakyReLU layer the gradient cpu gives, and leaks nothing', async () => {
    const grads: Record<string, Float32Array> = {};
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const x = tf.tensor(activations([2, 4, 4, 3], 9).map((v) => (Number.isFinite(v) ? v : 0.5)), [2, 4, 4, 3]);
      const g = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(input, 0.3), input)))(x);
      grads[backend] = g.dataSync() as Float32Array;
      tf.dispose([x, g]);
    }
    sameValues(grads.wasm!, grads.cpu!);
    const x = tf.randomNormal([3, 8, 8, 4], 0, 1, 'float32', 10);
    await expectNoLeaks(() => tf.tidy(() => tf.grad((input: tf.Tensor) => tf.sum(tf.leakyRelu(input, 0.2)))(x)).dispose());
    x.dispose();
  });
});
