/**
 * Top-down sampling: I~_0 = G_0(z_0, class); then for each finer level l = u(I~_{k-1}),
 * I~_k = l + G_k(z_k, class, l). The same class is fed to every level. Each level's image
 * is clipped to the image range before it is passed on.
 *
 * All the noise of one sample lives in one flat latent vector (the base z, then one
 * noise plane per finer level, then one per extension step), laid out by `latentLayout`;
 * sampling draws it from U(-1, 1), the training distribution, and `pyramidGenerator`
 * exposes the same map h -> image to the PPGN sampler.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { LapganPyramid, PyramidLevel } from './level.js';
import { generateBase, generateResidual, type LevelNets, netClasses } from './networks.js';
import { upsample } from './resize.js';
import { streamRng } from './seeds.js';
import type { RefineLevelSpec } from './spec.js';

/** One level's slice of the flat latent vector. */
export interface LatentPart {
  /** 'base' (z of level 0), 'refine' (noise plane of level `level`), 'extend' (an extra application of the finest level). */
  kind: 'base' | 'refine' | 'extend';
  /** The pyramid level whose networks run. */
  level: number;
  /** Output size of this step. */
  size: number;
  /** Shape of this part for one sample: [noiseDim] or [size, size, 1]. */
  shape: number[];
  offset: number;
  length: number;
}

export interface LatentLayout {
  parts: LatentPart[];
  /** Length of the whole latent vector. */
  total: number;
  /** Output size after each part, coarse to fine. */
  sizes: number[];
}

/** Extension sizes as a list, checked to grow past the finest size. */
export function extensionSizes(pyramid: LapganPyramid, extend: number | readonly number[] | undefined, who: string): number[] {
  const list = extend === undefined ? [] : typeof extend === 'number' ? [extend] : [...extend];
  let prev = pyramid.sizes[pyramid.sizes.length - 1]!;
  for (const s of list) {
    if (!Number.isInteger(s) || s <= prev) {
      throw new Error(`${who}: extend sizes must be integers growing past the finest size ${prev}, got [${list.join(', ')}]`);
    }
    prev = s;
  }
  if (list.length > 0 && pyramid.levels.length < 2) {
    throw new Error(`${who}: extend needs a pyramid with a finer level to apply again (this one only has the base level)`);
  }
  return list;
}

/** The layout of a pyramid's latent vector (with `extend` extra steps past the finest level). */
export function latentLayout(pyramid: LapganPyramid, extend?: number | readonly number[]): LatentLayout {
  const ext = extensionSizes(pyramid, extend, 'latentLayout');
  const parts: LatentPart[] = [];
  let offset = 0;
  const add = (kind: LatentPart['kind'], level: number, size: number, shape: number[]) => {
    const length = shape.reduce((a, b) => a * b, 1);
    parts.push({ kind, level, size, shape, offset, length });
    offset += length;
  };
  pyramid.levels.forEach((l, k) => {
    if (l.spec.kind === 'base') add('base', k, l.spec.size, [l.spec.noiseDim]);
    else add('refine', k, l.spec.size, [l.spec.size, l.spec.size, 1]);
  });
  for (const s of ext) add('extend', pyramid.levels.length - 1, s, [s, s, 1]);
  return { parts, total: offset, sizes: parts.map((p) => p.size) };
}

/**
 * The class of each of `n` samples: `classIndex` for all, one per sample, or (when
 * omitted) 0, 1, ..., K - 1, 0, ... in turn. Null for an unconditional pyramid.
 */
export function resolveClasses(
  pyramid: LapganPyramid,
  classIndex: number | readonly number[] | undefined,
  n: number,
  who: string,
): number[] | null {
  const k = pyramid.numClasses;
  if (k === 0) {
    if (classIndex !== undefined) throw new Error(`${who}: the pyramid is unconditional; it takes no classIndex`);
    return null;
  }
  const list =
    classIndex === undefined
      ? Array.from({ length: n }, (_, i) => i % k)
      : typeof classIndex === 'number'
        ? Array.from({ length: n }, () => classIndex)
        : [...classIndex];
  if (list.length !== n) throw new Error(`${who}: got ${list.length} class indices for ${n} samples`);
  for (const c of list) {
    if (!Number.isInteger(c) || c < 0 || c >= k) throw new Error(`${who}: class ${c} is out of range (the pyramid has ${k} classes)`);
  }
  return list;
}

/** A float32 one-hot matrix [n, k]. */
export function oneHot(classes: readonly number[], k: number): Tensor2D {
  const data = new Float32Array(classes.length * k);
  classes.forEach((c, i) => {
    data[i * k + c] = 1;
  });
  return tf.tensor2d(data, [classes.length, k]);
}

/**
 * Runs `fn` with the networks of `level` for every sample: one call for a shared pair (with
 * the one-hot codes when the level is conditional), or one call per class present for a
 * per-class level, on the matching rows of `inputs`, reassembled in the original order.
 */
function runLevel(
  level: PyramidLevel,
  classes: number[] | null,
  inputs: Tensor[],
  fn: (nets: LevelNets, onehot: Tensor2D | null, inputs: Tensor[]) => Tensor4D,
): Tensor4D {
  const spec = level.spec;
  if (!spec.perClass) {
    const k = netClasses(spec);
    const onehot = k > 0 && classes !== null ? oneHot(classes, k) : null;
    return fn(level.nets[0]!, onehot, inputs);
  }
  if (classes === null) throw new Error(`${level.describe()}: one network per class; sampling needs classes`);
  const distinct = [...new Set(classes)];
  if (distinct.length === 1) return fn(level.netsFor(distinct[0]!), null, inputs);
  const outs: Tensor4D[] = [];
  const order: number[] = [];
  for (const c of distinct) {
    const rows = classes.flatMap((cc, i) => (cc === c ? [i] : []));
    const idx = tf.tensor1d(rows, 'int32');
    outs.push(fn(level.netsFor(c), null, inputs.map((t) => tf.gather(t, idx))));
    order.push(...rows);
  }
  const inverse = new Array<number>(order.length);
  order.forEach((row, i) => {
    inverse[row] = i;
  });
  return tf.gather(tf.concat(outs, 0), tf.tensor1d(inverse, 'int32')) as Tensor4D;
}

export interface DecodeOptions {
  /** Start from these images at the coarsest size ([B, s0, s0, C] in [0, 1]) instead of the base GAN. */
  start?: Tensor4D;
  /** Also return every level's image. Default false. */
  keepLevels?: boolean;
}

/**
 * The map h -> images of a pyramid: h is [B, layout.total] (see `latentLayout`). Returns
 * the finest images in [0, 1] and, with `keepLevels`, every step's image (coarse to fine).
 * Differentiable in h. The caller disposes the tensors.
 */
export function decodeLatent(
  pyramid: LapganPyramid,
  layout: LatentLayout,
  h: Tensor,
  classes: number[] | null,
  options: DecodeOptions = {},
): { images: Tensor4D; levels: Tensor4D[] } {
  const b = h.shape[0]!;
  if (h.size !== b * layout.total) {
    throw new Error(`decodeLatent: expected latent codes [B, ${layout.total}], got shape [${h.shape.join(', ')}]`);
  }
  if (classes !== null && classes.length !== b) throw new Error(`decodeLatent: ${classes.length} classes for ${b} codes`);
  const start = options.start;
  if (start !== undefined) {
    const s0 = pyramid.sizes[0]!;
    const want = [b, s0, s0, pyramid.channels];
    if (start.rank !== 4 || start.shape.some((d, i) => d !== want[i])) {
      throw new Error(`decodeLatent: start images must be [${want.join(', ')}], got [${start.shape.join(', ')}]`);
    }
  }
  const result = tf.tidy(() => {
    const flat = tf.reshape(h, [b, layout.total]);
    const kept: Tensor4D[] = [];
    let x: Tensor4D | undefined;
    for (const part of layout.parts) {
      const level = pyramid.levels[part.level]!;
      const z = tf.slice(flat, [0, part.offset], [b, part.length]);
      if (part.kind === 'base') {
        const spec = level.spec;
        if (spec.kind !== 'base') throw new Error('decodeLatent: level 0 is not a base level');
        x =
          start !== undefined
            ? (tf.sub(tf.mul(start, 2), 1) as Tensor4D)
            : runLevel(level, classes, [z], (nets, onehot, [zz]) => generateBase(spec, nets.g, zz as Tensor2D, onehot));
      } else {
        const spec = level.spec as RefineLevelSpec;
        const l = upsample(x!, part.size);
        const noise = tf.reshape(z, [b, part.size, part.size, 1]);
        const r = runLevel(level, classes, [noise, l], (nets, onehot, [zz, ll]) =>
          generateResidual(spec, nets.g, zz as Tensor4D, onehot, ll as Tensor4D),
        );
        x = tf.add(l, r) as Tensor4D;
      }
      x = tf.clipByValue(x, -1, 1);
      if (options.keepLevels) kept.push(toUnit(x));
    }
    return { images: toUnit(x!), levels: kept };
  });
  return result;
}

/** [-1, 1] -> [0, 1]. */
function toUnit(x: Tensor4D): Tensor4D {
  return tf.div(tf.add(x, 1), 2) as Tensor4D;
}

/**
 * `n` latent codes [n, layout.total] drawn from U(-1, 1) with `seed`. Each part of the
 * layout has its own stream, read sample by sample: sample i's noise for a level depends
 * only on (seed, level, i), so drawing more samples, or extending the pyramid, leaves the
 * noise of the others unchanged.
 */
export function sampleLatent(layout: LatentLayout, n: number, seed: number): Tensor2D {
  const data = new Float32Array(n * layout.total);
  layout.parts.forEach((part, p) => {
    const values = streamRng(seed, 0x1a7e, p).uniformArray(n * part.length, -1, 1);
    for (let i = 0; i < n; i++) data.set(values.subarray(i * part.length, (i + 1) * part.length), i * layout.total + part.offset);
  });
  return tf.tensor2d(data, [n, layout.total]);
}

export interface SamplePyramidOptions {
  pyramid: LapganPyramid;
  /** Number of samples. */
  n: number;
  /** One class for all, one per sample, or (omitted) classes in turn. Not allowed for unconditional pyramids. */
  classIndex?: number | readonly number[];
  /** Seed of the noise. Default 0. */
  seed?: number;
  /**
   * Apply the finest level's G again past the training resolution, to each of these
   * sizes in turn (e.g. 64, or [64, 128]).
   */
  extend?: number | readonly number[];
  /** Start from these images at the coarsest size ([n, s0, s0, C] in [0, 1]) instead of the base GAN. */
  start?: Tensor4D;
}

export interface PyramidSamples {
  /** The final images [n, S, S, C] in [0, 1]. */
  images: Tensor4D;
  /** Every step's image, coarse to fine (the last one equals `images`). */
  levels: Tensor4D[];
  /** Size of each entry of `levels`. */
  sizes: number[];
  /** The class of each sample (null: unconditional). */
  classes: number[] | null;
  /** Frees every tensor above. */
  dispose(): void;
}

/** Draws `n` samples top-down; deterministic given the seed. The caller disposes the result. */
export function samplePyramid(options: SamplePyramidOptions): PyramidSamples {
  const { pyramid, n } = options;
  if (!Number.isInteger(n) || n <= 0) throw new Error(`samplePyramid: n must be a positive integer, got ${n}`);
  const classes = resolveClasses(pyramid, options.classIndex, n, 'samplePyramid');
  const layout = latentLayout(pyramid, options.extend);
  const h = sampleLatent(layout, n, options.seed ?? 0);
  try {
    const { images, levels } = decodeLatent(pyramid, layout, h, classes, { start: options.start, keepLevels: true });
    return {
      images,
      levels,
      sizes: layout.sizes,
      classes,
      dispose: () => tf.dispose([images, ...levels]),
    };
  } finally {
    h.dispose();
  }
}
