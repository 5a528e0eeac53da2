import { assertImageBatch, type ImageShape, shapeToString } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';

/** A window of the source image, in source pixels. `top`/`left` default to centring it. */
export interface CropWindow {
  height: number;
  width: number;
  top?: number;
  left?: number;
}

/**
 * How pixel values in [0, 1] are mapped for the model:
 * - `[lo, hi]`: x' = lo + (hi - lo) x (e.g. `[-1, 1]`, `[0, 255]`);
 * - `{ mean, std, range? }`: x' = (r(x) - mean) / std per channel, where r maps [0, 1] to
 *   `range` (default [0, 1]). torchvision style: `{ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }`;
 *   Caffe style: `{ range: [0, 255], mean: [104, 117, 123], std: 1 }` with `channels: 'bgr'`.
 *   `mean` and `std` are one number or one per output channel.
 */
export type Normalization =
  | [lo: number, hi: number]
  | { mean: number | number[]; std: number | number[]; range?: [lo: number, hi: number] };

/**
 * Resampling when the (cropped) image size differs from the model's:
 * - `bilinear`: half-pixel centres, the same values as `tf.image.resizeBilinear(x, size, false, true)`;
 * - `nearest`: half-pixel centres;
 * - `area`: box filter (each output pixel averages the source area it covers); antialiased,
 *   the better choice when shrinking by more than 2x.
 */
export type ResizeMethod = 'bilinear' | 'nearest' | 'area';

/**
 * Colour handling. 1 -> 3 channels always replicates the grey value. For 3 -> 1:
 * `luminance` (default; ITU-R BT.601 weights 0.299, 0.587, 0.114) or `mean`.
 * `bgr` reverses the channel order (for models trained on BGR images, e.g. Caffe's).
 */
export type ChannelConversion = 'luminance' | 'mean' | 'bgr';

/** Arguments of `inputAdapter`. */
export interface InputAdapterArgs {
  /** What the generator makes (what the condition accepts). */
  from: ImageShape;
  /** What the model wants. */
  to: ImageShape;
  /**
   * `center`: a centred window of exactly `to`'s height and width (no resampling; e.g. 256 -> 227).
   * A `CropWindow` picks any window, which is then resized to `to` when its size differs.
   * Without a crop the whole image is resized.
   */
  crop?: 'center' | CropWindow;
  /** Resampling method when sizes differ. Default `bilinear`. */
  resize?: ResizeMethod;
  /** Colour conversion; see `ChannelConversion`. */
  channels?: ChannelConversion;
  /** Pixel value mapping, applied last. Default: none (the model sees [0, 1]). */
  normalize?: Normalization;
}

/**
 * A differentiable map from the images a generator makes (`from`, NHWC in [0, 1]) to the
 * input a model wants (`to`): crop, resize, colour conversion and normalisation.
 * Holds no tensors.
 */
export interface InputAdapter {
  readonly from: ImageShape;
  readonly to: ImageShape;
  /** [B, ...from] -> [B, ...to]. Differentiable, synchronous, frees its intermediates. */
  adapt(x: Tensor4D): Tensor4D;
  /** One line, e.g. `32x32x3 -> 28x28x1 (bilinear, luminance)`. */
  describe(): string;
}

const WHO = 'inputAdapter';

function checkShape(shape: ImageShape, name: string): void {
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`${WHO}: ${name} must be [height, width, channels] of positive integers, got ${JSON.stringify(shape)}`);
  }
  if (shape[2] !== 1 && shape[2] !== 3) {
    throw new Error(`${WHO}: ${name} must have 1 or 3 channels, got ${shapeToString(shape)}`);
  }
}

/**
 * Row-stochastic [outSize, inSize] matrix that resamples one axis. Rows sum to 1.
 * @internal exported for tests
 */
export function resizeMatrix(inSize: number, outSize: number, method: ResizeMethod): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const scale = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const row = i * inSize;
    if (method === 'nearest') {
      const src = Math.min(Math.floor((i + 0.5) * scale), inSize - 1);
      m[row + src] = 1;
    } else if (method === 'bilinear') {
      const src = (i + 0.5) * scale - 0.5;
      const lowF = Math.floor(src);
      const lerp = src - lowF;
      const low = Math.max(lowF, 0);
      const high = Math.min(Math.ceil(src), inSize - 1);
      m[row + low]! += 1 - lerp;
      m[row + high]! += lerp;
    } else {
      const start = i * scale;
      const end = (i + 1) * scale;
      for (let p = Math.floor(start); p < Math.min(Math.ceil(end), inSize); p++) {
        const overlap = Math.min(end, p + 1) - Math.max(start, p);
        if (overlap > 0) m[row + p]! += overlap / scale;
      }
    }
  }
  return m;
}

interface Window {
  top: number;
  left: number;
  height: number;
  width: number;
}

function resolveCrop(from: ImageShape, to: ImageShape, crop: InputAdapterArgs['crop']): Window {
  const [fh, fw] = from;
  if (crop === undefined) return { top: 0, left: 0, height: fh, width: fw };
  let height: number;
  let width: number;
  let top: number | undefined;
  let left: number | undefined;
  if (crop === 'center') {
    [height, width] = to;
    if (height > fh || width > fw) {
      throw new Error(
        `${WHO}: crop 'center' takes a ${height}x${width} window but the images are only ${fh}x${fw}; leave crop unset to resize instead`,
      );
    }
  } else {
    ({ height, width, top, left } = crop);
  }
  top ??= Math.floor((fh - height) / 2);
  left ??= Math.floor((fw - width) / 2);
  const ints = [height, width, top, left].every((v) => Number.isInteger(v));
  if (!ints || height <= 0 || width <= 0 || top < 0 || left < 0 || top + height > fh || left + width > fw) {
    throw new Error(
      `${WHO}: crop window ${height}x${width} at (${top}, ${left}) does not fit in ${fh}x${fw} images`,
    );
  }
  return { top, left, height, width };
}

/** [cin, cout] colour matrix. */
function channelMatrix(cin: number, cout: number, channels: ChannelConversion | undefined): number[][] {
  if (channels === 'luminance' || channels === 'mean') {
    if (cin !== 3 || cout !== 1) {
      throw new Error(`${WHO}: channels '${channels}' converts 3 channels to 1, but from has ${cin} and to has ${cout}`);
    }
  }
  if (channels === 'bgr' && cout !== 3) {
    throw new Error(`${WHO}: channels 'bgr' needs 3 output channels, but to has ${cout}`);
  }
  if (cin === 1 && cout === 1) return [[1]];
  if (cin === 1 && cout === 3) return [[1, 1, 1]];
  if (cin === 3 && cout === 1) {
    return channels === 'mean' ? [[1 / 3], [1 / 3], [1 / 3]] : [[0.299], [0.587], [0.114]];
  }
  if (channels === 'bgr') {
    return [
      [0, 0, 1],
      [0, 1, 0],
      [1, 0, 0],
    ];
  }
  return [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ];
}

function perChannel(value: number | number[], channels: number, what: string): number[] {
  const values = typeof value === 'number' ? new Array<number>(channels).fill(value) : value;
  if (values.length !== channels || !values.every((v) => Number.isFinite(v))) {
    throw new Error(`${WHO}: normalize.${what} must be one finite number or ${channels} (one per output channel), got ${JSON.stringify(value)}`);
  }
  return values;
}

/** x' = x * scale + offset per output channel. */
function affine(normalize: Normalization | undefined, channels: number): { scale: number[]; offset: number[] } {
  if (normalize === undefined) return { scale: new Array(channels).fill(1), offset: new Array(channels).fill(0) };
  if (Array.isArray(normalize)) {
    const [lo, hi] = normalize;
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo === hi) {
      throw new Error(`${WHO}: normalize range must be two different finite numbers, got ${JSON.stringify(normalize)}`);
    }
    return { scale: new Array(channels).fill(hi - lo), offset: new Array(channels).fill(lo) };
  }
  const [lo, hi] = normalize.range ?? [0, 1];
  const mean = perChannel(normalize.mean, channels, 'mean');
  const std = perChannel(normalize.std, channels, 'std');
  if (std.some((s) => s === 0)) throw new Error(`${WHO}: normalize.std must not be 0`);
  return {
    scale: std.map((s) => (hi - lo) / s),
    offset: std.map((s, k) => (lo - mean[k]!) / s),
  };
}

function isIdentity(matrix: number[][]): boolean {
  return matrix.every((row, i) => row.every((v, j) => v === (i === j ? 1 : 0)));
}

/** Applies `rows` [H', H] and `cols` [W', W] to every image and channel: out = rows . x . cols^T. */
function resample(x: Tensor4D, rows: Float32Array | undefined, cols: Float32Array | undefined, to: [number, number]): Tensor4D {
  const [b, h, w, c] = x.shape;
  let y: Tensor4D = x;
  if (rows !== undefined) {
    const r = tf.tensor2d(rows, [to[0], h]);
    const flat = tf.reshape(tf.transpose(y, [1, 0, 2, 3]), [h, b * w * c]) as Tensor2D;
    y = tf.transpose(tf.reshape(tf.matMul(r, flat), [to[0], b, w, c]), [1, 0, 2, 3]) as Tensor4D;
  }
  if (cols !== undefined) {
    const hh = y.shape[1];
    const r = tf.tensor2d(cols, [to[1], w]);
    const flat = tf.reshape(tf.transpose(y, [2, 0, 1, 3]), [w, b * hh * c]) as Tensor2D;
    y = tf.transpose(tf.reshape(tf.matMul(r, flat), [to[1], b, hh, c]), [1, 2, 0, 3]) as Tensor4D;
  }
  return y;
}

/**
 * Builds a differentiable adapter from generator images (`from`) to model input (`to`):
 * crop, then resize (separable linear maps, so gradients are exact on every backend), then
 * colour conversion, then normalisation.
 *
 * @example
 * // 32x32 colour generator images into a 28x28 grey MNIST classifier
 * inputAdapter({ from: [32, 32, 3], to: [28, 28, 1] })
 * // 256x256 images into a 227x227 Caffe-style network
 * inputAdapter({ from: [256, 256, 3], to: [227, 227, 3], crop: 'center', channels: 'bgr',
 *   normalize: { range: [0, 255], mean: [104, 117, 123], std: 1 } })
 */
export function inputAdapter(args: InputAdapterArgs): InputAdapter {
  const from: ImageShape = [...args.from];
  const to: ImageShape = [...args.to];
  checkShape(from, 'from');
  checkShape(to, 'to');
  const method = args.resize ?? 'bilinear';
  if (!['bilinear', 'nearest', 'area'].includes(method)) {
    throw new Error(`${WHO}: unknown resize '${method}', expected bilinear, nearest or area`);
  }
  if (args.channels !== undefined && !['luminance', 'mean', 'bgr'].includes(args.channels)) {
    throw new Error(`${WHO}: unknown channels '${args.channels}', expected luminance, mean or bgr`);
  }
  const window = resolveCrop(from, to, args.crop);
  const cropped = window.height !== from[0] || window.width !== from[1];
  const rows = window.height !== to[0] ? resizeMatrix(window.height, to[0], method) : undefined;
  const cols = window.width !== to[1] ? resizeMatrix(window.width, to[1], method) : undefined;
  const colour = channelMatrix(from[2], to[2], args.channels);
  const { scale, offset } = affine(args.normalize, to[2]);
  const colourIdentity = isIdentity(colour);
  const scaled = scale.some((s) => s !== 1);
  const shifted = offset.some((o) => o !== 0);
  // Colour matrix with the per-channel scale folded in: [cin, cout].
  const mixed = colour.map((row) => row.map((v, k) => v * scale[k]!));

  const steps: string[] = [];
  if (cropped) steps.push(`crop ${window.height}x${window.width} at (${window.top}, ${window.left})`);
  if (rows !== undefined || cols !== undefined) steps.push(method);
  if (!colourIdentity) steps.push(from[2] === 1 ? 'grey to rgb' : (args.channels ?? 'luminance'));
  if (args.normalize !== undefined) steps.push(`normalize ${JSON.stringify(args.normalize)}`);
  const description = `${shapeToString(from)} -> ${shapeToString(to)}${steps.length > 0 ? ` (${steps.join(', ')})` : ''}`;

  return {
    from,
    to,
    describe: () => description,
    adapt(x: Tensor4D): Tensor4D {
      assertImageBatch(x, from, WHO);
      return tf.tidy(() => {
        let y: Tensor4D = x;
        if (cropped) {
          y = tf.slice(y, [0, window.top, window.left, 0], [-1, window.height, window.width, -1]);
        }
        y = resample(y, rows, cols, [to[0], to[1]]);
        if (!colourIdentity) {
          const [b, h, w, c] = y.shape;
          const flat = tf.reshape(y, [b * h * w, c]) as Tensor2D;
          y = tf.reshape(tf.matMul(flat, tf.tensor2d(mixed)), [b, h, w, to[2]]) as Tensor4D;
        } else if (scaled) {
          y = tf.mul(y, tf.tensor1d(scale));
        }
        if (shifted) y = tf.add(y, tf.tensor1d(offset));
        // Never hand back the caller's own tensor: the result is always the caller's to dispose.
        return y === x ? tf.clone(x) : y;
      });
    },
  };
}
