import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareKernel, expectNoLeaks, pick, randomValues, seeded, setupBackends } from './test-utils.js';

/** [M, K] @ [K, N] with each operand stored transposed or not, optionally with batch dims. */
function randomCase(rand: () => number) {
  const m = pick([1, 3, 16, 33], rand);
  const k = pick([1, 5, 64, 130], rand);
  const n = pick([1, 7, 10, 200], rand);
  const transposeA = rand() < 0.6;
  const transposeB = rand() < 0.6;
  const lead = pick<number[][]>([[[], []], [[1], [1]], [[1], []], [[], [1]], [[3], [3]], [[2], [1]], [[1, 1], [1]]], rand);
  const [leadA, leadB] = lead as [number[], number[]];
  return {
    a: [...leadA, ...(transposeA ? [k, m] : [m, k])],
    b: [...leadB, ...(transposeB ? [n, k] : [k, n])],
    transposeA,
    transposeB,
  };
}

describe('BatchMatMul on wasm', () => {
  beforeAll(setupBackends);

  it('matches cpu with and without transposes on 60 random shapes (batched, broadcast, rank 2-4)', async () => {
    const rand = seeded(31);
    for (let i = 0; i < 60; i++) {
      const c = randomCase(rand);
      const { error } = await compareKernel(
        'BatchMatMul',
        { a: { shape: c.a, values: randomValues(c.a, rand) }, b: { shape: c.b, values: randomValues(c.b, rand) } },
        { transposeA: c.transposeA, transposeB: c.transposeB },
      );
      expect(error, JSON.stringify(c)).toBeLessThan(1e-4);
    }
  });

  it('gives dense-layer gradients equal to cpu', async () => {
    const rand = seeded(32);
    const xv = randomValues([16, 300], rand);
    const wv = randomValues([300, 12], rand);
    const grads = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const f = (x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, w)));
        return tf.grads(f)([tf.tensor2d(xv, [16, 300]), tf.tensor2d(wv, [300, 12])]).map((g) => g.dataSync());
      });
    };
    const cpu = await grads('cpu');
    const wasm = await grads('wasm');
    for (const [i, c] of cpu.entries()) {
      const w = wasm[i] as Float32Array;
      let diff = 0;
      let scale = 0;
      for (let j = 0; j < c.length; j++) {
        diff = Math.max(diff, Math.abs((w[j] as number) - (c[j] as number)));
        scale = Math.max(scale, Math.abs(c[j] as number));
      }
      expect(diff / scale).toBeLessThan(1e-4);
    }
  });

  it('frees its intermediates', async () => {
    const a = tf.tidy(() => tf.randomNormal([20, 9]));
    const b = tf.tidy(() => tf.randomNormal([30, 20]));
    await expectNoLeaks(() => {
      tf.matMul(a, b, true, true).dispose();
      tf.matMul(b, a, false, false).dispose();
      tf.matMul(a, a, true, false).dispose();
    });
    tf.dispose([a, b]);
  });
});
