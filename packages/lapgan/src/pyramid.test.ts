import { Rng } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { collapsePyramid, gaussianPyramid, laplacianPyramid, trainingPair } from './pyramid.js';
import { downsample, resize, resizeNearest, upsample } from './resize.js';
import { BACKENDS, maxDiff, useBackend } from './test-helpers.js';

function random(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  return new Rng(seed).uniformTensor(shape) as tf.Tensor4D;
}

/** Reference bilinear interpolation with aligned corners, one pixel at a time. */
function bilinearRef(x: tf.Tensor4D, h2: number, w2: number): Float32Array {
  const [b, h, w, c] = x.shape;
  const v = x.dataSync();
  const out = new Float32Array(b * h2 * w2 * c);
  const coord = (i: number, n: number, m: number) => (m > 1 ? (i * (n - 1)) / (m - 1) : 0);
  for (let n = 0; n < b; n++)
    for (let i = 0; i < h2; i++)
      for (let j = 0; j < w2; j++)
        for (let k = 0; k < c; k++) {
          const sy = coord(i, h, h2);
          const sx = coord(j, w, w2);
          const y0 = Math.floor(sy);
          const x0 = Math.floor(sx);
          const y1 = Math.min(h - 1, y0 + 1);
          const x1 = Math.min(w - 1, x0 + 1);
          const fy = sy - y0;
          const fx = sx - x0;
          const at = (y: number, xx: number) => v[((n * h + y) * w + xx) * c + k]!;
          out[((n * h2 + i) * w2 + j) * c + k] =
            (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
        }
  return out;
}

for (const backend of BACKENDS) {
  describe(`pyramid operators (${backend})`, () => {
    it('downsample by 2 is exactly the 2x2 mean', async () => {
      await useBackend(backend);
      const x = random([2, 8, 6, 3], 1);
      const d = downsample(x, [4, 3]);
      const pooled = tf.avgPool(x, 2, 2, 'valid');
      expect(d.shape).toEqual([2, 4, 3, 3]);
      expect(maxDiff(d, pooled)).toBeLessThan(1e-6);
      tf.dispose([x, d, pooled]);
    });

    it('downsample to other sizes is an area average (keeps the mean, constant stays constant)', async () => {
      await useBackend(backend);
      const x = random([1, 14, 14, 1], 2);
      const d = downsample(x, 8);
      expect(d.shape).toEqual([1, 8, 8, 1]);
      expect(Math.abs(tf.mean(d).dataSync()[0]! - tf.mean(x).dataSync()[0]!)).toBeLessThan(1e-5);
      const ones = tf.ones([1, 28, 28, 3]) as tf.Tensor4D;
      const d2 = downsample(ones, 8);
      expect(maxDiff(d2, tf.onesLike(d2))).toBeLessThan(1e-6);
      // 3 -> 2: output 0 covers [0, 1.5): (x0 + 0.5 x1) / 1.5
      const row = tf.tensor4d([1, 2, 4], [1, 1, 3, 1]);
      expect(Array.from(downsample(row, [1, 2]).dataSync())).toEqual([expect.closeTo((1 + 0.5 * 2) / 1.5, 6), expect.closeTo((0.5 * 2 + 4) / 1.5, 6)]);
      tf.dispose([x, d, ones, d2, row]);
    });

    it('upsample is bilinear with aligned corners', async () => {
      await useBackend(backend);
      const x = random([2, 5, 4, 3], 3);
      const u = upsample(x, [9, 11]);
      const ref = bilinearRef(x, 9, 11);
      const got = u.dataSync();
      let worst = 0;
      for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ref[i]! - got[i]!));
      expect(worst).toBeLessThan(1e-6);
      // corners coincide
      expect(u.slice([0, 0, 0, 0], [1, 1, 1, 3]).dataSync()).toEqual(x.slice([0, 0, 0, 0], [1, 1, 1, 3]).dataSync());
      tf.dispose([x, u]);
    });

    it('rejects the wrong direction and bad sizes', async () => {
      await useBackend(backend);
      const x = random([1, 8, 8, 1], 4);
      expect(() => downsample(x, 16)).toThrow(/larger than the input 8x8/);
      expect(() => upsample(x, 4)).toThrow(/smaller than the input 8x8/);
      expect(() => resize(x, 0)).toThrow(/positive integers/);
      expect(() => gaussianPyramid(x, [16, 8])).toThrow(/increase from coarse to fine/);
      x.dispose();
    });

    it('nearest resize repeats pixels', async () => {
      await useBackend(backend);
      const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
      const y = resizeNearest(x, 4);
      expect(Array.from(y.dataSync())).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
      tf.dispose([x, y]);
    });

    for (const [sizes, channels, input] of [
      [[8, 14, 28], 3, 28],
      [[8, 16, 32], 1, 32],
      [[8, 16, 32], 3, 40],
      [[4, 7, 12, 24], 1, 24],
      [[5], 3, 9],
    ] as const) {
      it(`building then collapsing is exact: sizes [${sizes.join(', ')}], ${channels} channel(s), ${input}x${input} input`, async () => {
        await useBackend(backend);
        const before = tf.memory().numTensors;
        const x = random([3, input, input, channels], sizes.length * 10 + channels);
        const gauss = gaussianPyramid(x, sizes);
        expect(gauss.map((g) => g.shape)).toEqual([...sizes].reverse().map((s) => [3, s, s, channels]));
        const lap = laplacianPyramid(x, sizes);
        expect(lap.bands.map((b) => b.shape[1])).toEqual([...sizes].reverse().slice(0, -1));
        expect(lap.base.shape).toEqual([3, sizes[0], sizes[0], channels]);
        expect(maxDiff(lap.base, gauss[gauss.length - 1]!)).toBe(0);
        const back = collapsePyramid(lap);
        expect(back.shape).toEqual([3, sizes[sizes.length - 1], sizes[sizes.length - 1], channels]);
        expect(maxDiff(back, gauss[0]!)).toBeLessThan(1e-6);
        if (sizes.length > 1) {
          // bands carry detail: not zero on random images
          expect(tf.tidy(() => tf.max(tf.abs(lap.bands[0]!)).dataSync()[0])).toBeGreaterThan(0.05);
        }
        tf.dispose([x, ...gauss, ...lap.bands, lap.base, back]);
        expect(tf.memory().numTensors).toBe(before);
      });
    }

    it('training pairs follow the reference code: fine = scale(I, F), coarse = u(scale(I, C), F)', async () => {
      await useBackend(backend);
      const x = random([2, 32, 32, 3], 7);
      const { fine, coarse, residual } = trainingPair(x, 14, 28);
      expect(fine.shape).toEqual([2, 28, 28, 3]);
      const expectedCoarse = upsample(downsample(x, 14), 28);
      expect(maxDiff(coarse, expectedCoarse)).toBeLessThan(1e-6);
      expect(maxDiff(tf.add(coarse, residual), fine)).toBeLessThan(1e-6);
      tf.dispose([x, fine, coarse, residual, expectedCoarse]);
    });

    it('gradients flow through the operators', async () => {
      await useBackend(backend);
      const x = random([1, 8, 8, 1], 8);
      const g = tf.grad((t: tf.Tensor) => tf.sum(upsample(downsample(t as tf.Tensor4D, 4), 8)))(x);
      // the composite preserves sums up to the bilinear weights: every pixel gets a positive share
      expect(tf.min(g).dataSync()[0]).toBeGreaterThan(0);
      tf.dispose([x, g]);
    });
  });
}
