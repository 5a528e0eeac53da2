/**
 * Resampling operators of the Laplacian pyramid, as separable linear maps.
 *
 * Each resize is one matrix per axis (rows: output pixels, columns: input pixels), applied
 * with two matrix products. The same maps run on every backend, give identical results on
 * all of them, and are differentiable (so gradients flow through a pyramid into latent
 * codes). The operators follow the reference LAPGAN code (Torch `image.scale`):
 * - `downsample`: area (box) averaging. Output pixel i covers [i r, (i + 1) r) of the
 *   input (r = in / out) and averages it weighted by overlap: exactly a 2x2 mean for x2,
 *   any smaller size allowed.
 * - `upsample`: bilinear interpolation with aligned corners (the first and last pixels
 *   of input and output coincide), any larger size allowed.
 * - `resizeNearest`: nearest neighbour, for display only.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';

/** An image size: `n` for n x n, or [height, width]. */
export type Size = number | readonly [height: number, width: number];

type Axis = 'area' | 'bilinear' | 'nearest';

function toHW(size: Size, who: string): [number, number] {
  const hw: [number, number] = typeof size === 'number' ? [size, size] : [size[0], size[1]];
  if (!hw.every((v) => Number.isInteger(v) && v > 0)) {
    throw new Error(`${who}: sizes must be positive integers, got ${JSON.stringify(size)}`);
  }
  return hw;
}

/** Row-major [out, n] box-averaging weights (out <= n). */
function areaWeights(n: number, out: number): Float32Array {
  const w = new Float32Array(out * n);
  const r = n / out;
  for (let i = 0; i < out; i++) {
    const lo = i * r;
    const hi = (i + 1) * r;
    for (let j = Math.floor(lo); j < Math.min(n, Math.ceil(hi)); j++) {
      const overlap = Math.min(hi, j + 1) - Math.max(lo, j);
      if (overlap > 0) w[i * n + j] = overlap / r;
    }
  }
  return w;
}

/** Row-major [out, n] bilinear weights with aligned corners (out >= n). */
function bilinearWeights(n: number, out: number): Float32Array {
  const w = new Float32Array(out * n);
  for (let i = 0; i < out; i++) {
    const src = out > 1 ? (i * (n - 1)) / (out - 1) : 0;
    const j0 = Math.min(n - 1, Math.floor(src));
    const frac = src - j0;
    w[i * n + j0] = 1 - frac;
    if (frac > 0) w[i * n + j0 + 1] = frac;
  }
  return w;
}

/** Row-major [out, n] nearest-neighbour selection. */
function nearestWeights(n: number, out: number): Float32Array {
  const w = new Float32Array(out * n);
  for (let i = 0; i < out; i++) w[i * n + Math.min(n - 1, Math.floor(((i + 0.5) * n) / out))] = 1;
  return w;
}

const cache = new Map<string, Float32Array>();

/** The transposed weights [n, out] of one axis, cached by kind and sizes. */
function weightsT(kind: Axis, n: number, out: number): Float32Array {
  const key = `${kind}:${n}:${out}`;
  let t = cache.get(key);
  if (t === undefined) {
    const w = kind === 'area' ? areaWeights(n, out) : kind === 'bilinear' ? bilinearWeights(n, out) : nearestWeights(n, out);
    t = new Float32Array(n * out);
    for (let i = 0; i < out; i++) for (let j = 0; j < n; j++) t[j * out + i] = w[i * n + j]!;
    cache.set(key, t);
  }
  return t;
}

/** Applies `kindH` along height to `h2` rows and `kindW` along width to `w2` columns. */
function separable(x: Tensor4D, kindH: Axis, h2: number, kindW: Axis, w2: number): Tensor4D {
  const [b, h, w, c] = x.shape;
  if (h === h2 && w === w2) return tf.clone(x);
  return tf.tidy(() => {
    let y: tf.Tensor = x;
    let width = w;
    if (w2 !== w) {
      const t = tf.reshape(tf.transpose(y, [0, 1, 3, 2]), [b * h * c, w]);
      const m = tf.matMul(t, tf.tensor2d(weightsT(kindW, w, w2), [w, w2]));
      y = tf.transpose(tf.reshape(m, [b, h, c, w2]), [0, 1, 3, 2]);
      width = w2;
    }
    if (h2 !== h) {
      const t = tf.reshape(tf.transpose(y, [0, 2, 3, 1]), [b * width * c, h]);
      const m = tf.matMul(t, tf.tensor2d(weightsT(kindH, h, h2), [h, h2]));
      y = tf.transpose(tf.reshape(m, [b, width, c, h2]), [0, 3, 1, 2]);
    }
    return y as Tensor4D;
  });
}

function checkImages(x: Tensor4D, who: string): void {
  if (x.rank !== 4) throw new Error(`${who}: expected images [B, H, W, C], got shape [${x.shape.join(', ')}]`);
}

/** Area (box) average down to `size` (each axis no larger than the input's). */
export function downsample(x: Tensor4D, size: Size): Tensor4D {
  checkImages(x, 'downsample');
  const [h2, w2] = toHW(size, 'downsample');
  const [, h, w] = x.shape;
  if (h2 > h || w2 > w) throw new Error(`downsample: target ${h2}x${w2} is larger than the input ${h}x${w}; use upsample`);
  return separable(x, 'area', h2, 'area', w2);
}

/** Bilinear interpolation with aligned corners up to `size` (each axis no smaller than the input's). */
export function upsample(x: Tensor4D, size: Size): Tensor4D {
  checkImages(x, 'upsample');
  const [h2, w2] = toHW(size, 'upsample');
  const [, h, w] = x.shape;
  if (h2 < h || w2 < w) throw new Error(`upsample: target ${h2}x${w2} is smaller than the input ${h}x${w}; use downsample`);
  return separable(x, 'bilinear', h2, 'bilinear', w2);
}

/**
 * `downsample` or `upsample`, per axis, whichever the target needs (Torch `image.scale`
 * with the reference code's modes): area averaging to shrink, bilinear to grow.
 */
export function resize(x: Tensor4D, size: Size): Tensor4D {
  checkImages(x, 'resize');
  const [h2, w2] = toHW(size, 'resize');
  const [, h, w] = x.shape;
  return separable(x, h2 <= h ? 'area' : 'bilinear', h2, w2 <= w ? 'area' : 'bilinear', w2);
}

/** Nearest-neighbour resize (for display: enlarging coarse levels without blurring them). */
export function resizeNearest(x: Tensor4D, size: Size): Tensor4D {
  checkImages(x, 'resizeNearest');
  const [h2, w2] = toHW(size, 'resizeNearest');
  return separable(x, 'nearest', h2, 'nearest', w2);
}
