import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { mnist } from './mnist.js';

/** One string per image: its pixels as bytes, to compare images across datasets. */
function keys(x: tf.Tensor4D): string[] {
  const d = x.dataSync();
  const per = 784;
  return Array.from({ length: x.shape[0] }, (_, k) =>
    Buffer.from(Uint8Array.from(d.subarray(k * per, (k + 1) * per), (v) => Math.round(v * 255))).toString('base64'),
  );
}

describe('mnist', () => {
  it('loads all 10,000 digits quickly, then from memory', async () => {
    const t0 = performance.now();
    const all = await mnist({ split: 'all' });
    const first = performance.now() - t0;
    const t1 = performance.now();
    await mnist({ split: 'test' });
    const again = performance.now() - t1;
    console.log(`mnist: first load ${first.toFixed(0)} ms, cached ${again.toFixed(0)} ms`);
    expect(first).toBeLessThan(5000);
    expect(again).toBeLessThan(200);
    expect(all.size).toBe(10_000);
    expect(all.imageShape).toEqual([28, 28, 1]);
    const counts = Array.from({ length: 10 }, (_, d) => all.labels.filter((l) => l === d).length);
    expect(counts).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    // package order: digit 0 first
    expect(Array.from(all.labels.slice(0, 3))).toEqual([0, 0, 0]);
    const x = all.images(Array.from({ length: 100 }, (_, i) => i * 100));
    const d = x.dataSync();
    expect(Math.min(...d)).toBe(0);
    expect(Math.max(...d)).toBeCloseTo(1, 2);
    // white digits on black: the border is dark, the middle is lit on average
    const mean = tf.tidy(() => tf.mean(x, 0).reshape([28, 28]).arraySync() as number[][]);
    expect(mean[0]![0]).toBe(0);
    expect(mean[14]![14]!).toBeGreaterThan(0.2);
    x.dispose();
  });

  it('splits 8,000 / 2,000, every digit 80/20, without overlap', async () => {
    const [all, train, test] = await Promise.all([mnist({ split: 'all' }), mnist(), mnist({ split: 'test' })]);
    expect(train.size).toBe(8000);
    expect(test.size).toBe(2000);
    const count = (labels: Int32Array, d: number) => labels.filter((l) => l === d).length;
    expect(Array.from({ length: 10 }, (_, d) => count(train.labels, d))).toEqual([
      801, 902, 793, 826, 784, 690, 811, 856, 755, 782,
    ]);
    // classes are mixed in the split order
    expect(new Set(train.labels.slice(0, 50)).size).toBeGreaterThan(5);
    const xa = all.images({ start: 0, end: all.size });
    const xtr = train.images({ start: 0, end: train.size });
    const xte = test.images({ start: 0, end: test.size });
    const countsOf = (ks: string[]) => ks.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>());
    const whole = countsOf(keys(xa));
    const parts = countsOf([...keys(xtr), ...keys(xte)]);
    expect(parts).toEqual(whole);
    // the same split every time
    const again = await mnist();
    expect(Array.from(again.labels)).toEqual(Array.from(train.labels));
    tf.dispose([xa, xtr, xte]);
  });
});
