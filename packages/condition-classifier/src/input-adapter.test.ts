import { Rng } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { inputAdapter, resizeMatrix } from './input-adapter.js';
import { BACKENDS, maxDiff, useBackend } from './test-helpers.js';

function images(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  return new Rng(seed).uniformTensor(shape) as tf.Tensor4D;
}

/** Runs `fn`, returns its data, disposes everything it made. */
function data(fn: () => tf.Tensor): Float32Array {
  return tf.tidy(() => fn().dataSync() as Float32Array);
}

describe('resizeMatrix', () => {
  it('has rows that sum to 1 for every method and size pair', () => {
    for (const method of ['bilinear', 'nearest', 'area'] as const) {
      for (const [n, m] of [
        [32, 28],
        [7, 3],
        [5, 9],
        [4, 4],
        [3, 1],
      ] as const) {
        const r = resizeMatrix(n, m, method);
        for (let i = 0; i < m; i++) {
          const sum = r.subarray(i * n, (i + 1) * n).reduce((a, v) => a + v, 0);
          expect(sum).toBeCloseTo(1, 6);
        }
      }
    }
  });

  it('averages the covered source pixels for area', () => {
    // 6 -> 4: each output covers 1.5 source pixels.
    const r = Array.from(resizeMatrix(6, 4, 'area'));
    expect(r.slice(0, 6).map((v) => +v.toFixed(6))).toEqual([0.666667, 0.333333, 0, 0, 0, 0]);
    expect(r.slice(6, 12).map((v) => +v.toFixed(6))).toEqual([0, 0.333333, 0.666667, 0, 0, 0]);
  });
});

for (const backend of BACKENDS) {
  describe(`inputAdapter on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    it('bilinear resize equals tf.image.resizeBilinear with half-pixel centres', () => {
      expect(tf.getBackend()).toBe(backend);
      for (const [from, to] of [
        [
          [32, 32],
          [28, 28],
        ],
        [
          [5, 7],
          [9, 4],
        ],
        [
          [8, 8],
          [3, 5],
        ],
      ] as const) {
        const x = images([2, from[0], from[1], 3], 1);
        const adapter = inputAdapter({ from: [from[0], from[1], 3], to: [to[0], to[1], 3] });
        const ours = data(() => adapter.adapt(x));
        const reference = data(() => tf.image.resizeBilinear(x, [to[0], to[1]], false, true));
        expect(maxDiff(ours, reference)).toBeLessThan(1e-5);
        x.dispose();
      }
    });

    it('nearest resize equals tf.image.resizeNearestNeighbor with half-pixel centres', () => {
      const x = images([1, 7, 5, 1], 2);
      const adapter = inputAdapter({ from: [7, 5, 1], to: [3, 9, 1], resize: 'nearest' });
      const reference = data(() => tf.image.resizeNearestNeighbor(x, [3, 9], false, true));
      expect(maxDiff(data(() => adapter.adapt(x)), reference)).toBeLessThan(1e-6);
      x.dispose();
    });

    it('area resize by an integer factor equals 2x2 average pooling', () => {
      const x = images([2, 8, 8, 3], 3);
      const adapter = inputAdapter({ from: [8, 8, 3], to: [4, 4, 3], resize: 'area' });
      const reference = data(() => tf.avgPool(x, 2, 2, 'valid'));
      expect(maxDiff(data(() => adapter.adapt(x)), reference)).toBeLessThan(1e-6);
      x.dispose();
    });

    it('centre crop takes the middle window without resampling', () => {
      const x = images([2, 10, 9, 3], 4);
      const adapter = inputAdapter({ from: [10, 9, 3], to: [7, 6, 3], crop: 'center' });
      const reference = data(() => tf.slice(x, [0, 1, 1, 0], [-1, 7, 6, -1]));
      expect(maxDiff(data(() => adapter.adapt(x)), reference)).toBeLessThan(1e-7);
      expect(adapter.describe()).toBe('10x9x3 -> 7x6x3 (crop 7x6 at (1, 1))');
      x.dispose();
    });

    it('crops a window and resizes it', () => {
      const x = images([1, 12, 12, 1], 5);
      const adapter = inputAdapter({ from: [12, 12, 1], to: [4, 4, 1], crop: { top: 2, left: 4, height: 8, width: 8 }, resize: 'area' });
      const reference = data(() => tf.avgPool(tf.slice(x, [0, 2, 4, 0], [-1, 8, 8, -1]) as tf.Tensor4D, 2, 2, 'valid'));
      expect(maxDiff(data(() => adapter.adapt(x)), reference)).toBeLessThan(1e-6);
      x.dispose();
    });

    it('converts grey to rgb, rgb to grey, and rgb to bgr', () => {
      const grey = tf.tensor4d([0.2, 0.8], [1, 1, 2, 1]);
      expect(Array.from(data(() => inputAdapter({ from: [1, 2, 1], to: [1, 2, 3] }).adapt(grey)))).toEqual([
        0.2, 0.2, 0.2, 0.8, 0.8, 0.8,
      ].map(Math.fround));
      const rgb = tf.tensor4d([1, 0.5, 0.25], [1, 1, 1, 3]);
      const lum = data(() => inputAdapter({ from: [1, 1, 3], to: [1, 1, 1] }).adapt(rgb))[0]!;
      expect(lum).toBeCloseTo(0.299 + 0.587 * 0.5 + 0.114 * 0.25, 6);
      const mean = data(() => inputAdapter({ from: [1, 1, 3], to: [1, 1, 1], channels: 'mean' }).adapt(rgb))[0]!;
      expect(mean).toBeCloseTo(1.75 / 3, 6);
      const bgr = data(() => inputAdapter({ from: [1, 1, 3], to: [1, 1, 3], channels: 'bgr' }).adapt(rgb));
      expect(Array.from(bgr)).toEqual([0.25, 0.5, 1]);
      tf.dispose([grey, rgb]);
    });

    it('normalizes to a range, by mean and std, and Caffe style', () => {
      const rgb = tf.tensor4d([1, 0.5, 0], [1, 1, 1, 3]);
      const range = data(() => inputAdapter({ from: [1, 1, 3], to: [1, 1, 3], normalize: [-1, 1] }).adapt(rgb));
      expect(maxDiff(range, [1, 0, -1])).toBeLessThan(1e-6);
      const torch = data(() =>
        inputAdapter({ from: [1, 1, 3], to: [1, 1, 3], normalize: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.25, 0.1] } }).adapt(rgb),
      );
      expect(maxDiff(torch, [1, 0, -5])).toBeLessThan(1e-5);
      const caffe = data(() =>
        inputAdapter({
          from: [1, 1, 3],
          to: [1, 1, 3],
          channels: 'bgr',
          normalize: { range: [0, 255], mean: [104, 117, 123], std: 1 },
        }).adapt(rgb),
      );
      // bgr of (255, 127.5, 0) is (0, 127.5, 255), minus the means.
      expect(maxDiff(caffe, [-104, 10.5, 132])).toBeLessThan(1e-4);
      rgb.dispose();
    });

    it('returns a fresh tensor when there is nothing to do', () => {
      const x = images([1, 3, 3, 1], 6);
      const y = inputAdapter({ from: [3, 3, 1], to: [3, 3, 1] }).adapt(x);
      expect(y).not.toBe(x);
      expect(maxDiff(y.dataSync(), x.dataSync())).toBe(0);
      tf.dispose([x, y]);
    });

    it('is differentiable: the gradient is the adjoint of the map, and it leaks nothing', () => {
      const adapter = inputAdapter({ from: [32, 32, 3], to: [28, 28, 1], normalize: { mean: 0.5, std: 0.25 } });
      const x = images([2, 32, 32, 3], 7);
      const y = images([2, 28, 28, 1], 8);
      // For an affine map A x + c: d/dx sum((A x + c) * y) = A^T y and <A x, y> = <x, A^T y>.
      const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(adapter.adapt(xx as tf.Tensor4D), y)))(x);
      const ax = data(() => tf.sub(adapter.adapt(x), adapter.adapt(tf.zerosLike(x) as tf.Tensor4D)));
      const lhs = data(() => tf.sum(tf.mul(tf.tensor(ax, y.shape), y)))[0]!;
      const rhs = data(() => tf.sum(tf.mul(x, g)))[0]!;
      expect(Math.abs(rhs)).toBeGreaterThan(1);
      expect(lhs).toBeCloseTo(rhs, 2);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) {
        tf.dispose(adapter.adapt(x));
        tf.dispose(tf.grad((xx: tf.Tensor) => tf.sum(adapter.adapt(xx as tf.Tensor4D)))(x));
      }
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, y, g]);
    });
  });
}

describe('inputAdapter errors', () => {
  it('refuses bad shapes, windows and options with messages that say what is wrong', () => {
    expect(() => inputAdapter({ from: [32, 32, 2], to: [28, 28, 1] })).toThrow('inputAdapter: from must have 1 or 3 channels, got 32x32x2');
    expect(() => inputAdapter({ from: [32, 32], to: [28, 28, 1] } as never)).toThrow(/from must be \[height, width, channels\]/);
    expect(() => inputAdapter({ from: [16, 16, 3], to: [28, 28, 3], crop: 'center' })).toThrow(
      "inputAdapter: crop 'center' takes a 28x28 window but the images are only 16x16; leave crop unset to resize instead",
    );
    expect(() => inputAdapter({ from: [16, 16, 3], to: [8, 8, 3], crop: { top: 10, left: 0, height: 8, width: 8 } })).toThrow(
      'inputAdapter: crop window 8x8 at (10, 0) does not fit in 16x16 images',
    );
    expect(() => inputAdapter({ from: [8, 8, 1], to: [8, 8, 3], channels: 'luminance' })).toThrow(
      "inputAdapter: channels 'luminance' converts 3 channels to 1, but from has 1 and to has 3",
    );
    expect(() => inputAdapter({ from: [8, 8, 3], to: [8, 8, 3], normalize: { mean: [0.5, 0.5], std: 1 } })).toThrow(
      /normalize.mean must be one finite number or 3/,
    );
    expect(() => inputAdapter({ from: [8, 8, 3], to: [8, 8, 3], resize: 'cubic' as never })).toThrow(/unknown resize 'cubic'/);
    const adapter = inputAdapter({ from: [8, 8, 3], to: [4, 4, 1] });
    const wrong = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
    expect(() => adapter.adapt(wrong)).toThrow('inputAdapter: expected 8x8x3 images, got 8x8x1');
    wrong.dispose();
  });
});
