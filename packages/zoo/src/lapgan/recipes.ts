/**
 * LAPGAN parts of the zoo entries: `lapgan`, a class-conditional Laplacian pyramid
 * (8 -> 16 -> 32), and `gan`, its single-scale baseline: the pyramid's base-level kind of
 * network (a fully connected conditional GAN, the paper's GAN baseline) made directly at
 * 32x32, with hidden widths chosen so its generator has about as many parameters as the
 * pyramid's generators together (its D as the pyramid's Ds), trained for as long (wall
 * clock) as the whole pyramid.
 *
 * MNIST digits are 28x28; they are padded with 2 zero pixels on every side to 32x32 for
 * training, and samples are cropped back to the centre 28x28 for the mnist evaluator.
 */
import { type Dataset, MNIST_SPLIT_SEED, mnist, shapes, shapesClassNames } from '@ppgn/data';
import { type BaseLevelOptions, createPyramid, type ImageSet, type PyramidConfig, type RefineLevelOptions } from '@ppgn/lapgan';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { SHAPES_TEST_SIZE, SHAPES_TRAIN_SIZE } from '../recipes/shapes.js';

export const LAPGAN_PARTS = ['lapgan', 'gan'] as const;
export type LapganPart = (typeof LAPGAN_PARTS)[number];

export interface LapganRecipe {
  entry: string;
  /** The pyramid (sizes, channels, classes, networks). */
  config: PyramidConfig;
  /** Training steps of each pyramid level. */
  stepsPerLevel: number[];
  batchSize: number;
  seed: number;
  /** Zero padding added on every side of the entry's images to reach the pyramid's size. */
  pad: number;
  /** Settings of the single-scale baseline over the pyramid's base-level ones (widths are matched, not set). */
  baseline?: Pick<BaseLevelOptions, 'noiseDim' | 'dropout'>;
  /** What the training data is, for the card. */
  dataDescription: string;
  /** The entry's images at the entry's own size (what its evaluator takes). */
  data(): Promise<{ train: Dataset; test: Dataset }>;
}

/**
 * Finer levels: the default 5x5 convs at 16x16; 3x3 at 32x32, where G's convs dominate the
 * step time (about 2.5x cheaper), so the finest level gets more steps in the same budget.
 */
const REFINE: RefineLevelOptions[] = [
  { gFilters: [32, 32], gKernel: 5, gOutKernel: 5, dFilters: 32, dKernel: 5 },
  { gFilters: [32, 32], gKernel: 3, gOutKernel: 3, dFilters: 32, dKernel: 5 },
];
/** Steps per level: about 2, 5 and 6 minutes on native TensorFlow on two shared cores. */
const STEPS = [3000, 2500, 1500];

const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export const LAPGAN_RECIPES: Readonly<Record<string, LapganRecipe>> = {
  mnist: {
    entry: 'mnist',
    config: {
      sizes: [8, 16, 32],
      channels: 1,
      numClasses: 10,
      classNames: MNIST_CLASSES,
      base: { noiseDim: 100, gHidden: [512, 512], dHidden: [256, 256], dropout: 0.5 },
      refine: REFINE,
    },
    stepsPerLevel: STEPS,
    // With D dropout 0.5 the 32x32 baseline collapsed to one noisy blob for every class
    // within 1,500 steps (D at chance, 2 ln 2); with 0.2 it learns digit strokes.
    baseline: { dropout: 0.2 },
    batchSize: 64,
    seed: 1,
    pad: 2,
    dataDescription: `the mnist entry's training split (8,000 digits, split seed ${MNIST_SPLIT_SEED}), padded with 2 zero pixels per side to 32x32`,
    data: async () => ({ train: await mnist({ split: 'train' }), test: await mnist({ split: 'test' }) }),
  },
  shapes: {
    entry: 'shapes',
    config: {
      sizes: [8, 16, 32],
      channels: 3,
      numClasses: 15,
      classNames: [...shapesClassNames('color-shape')],
      // With the mnist settings (z of 100, D dropout 0.5) the 8x8 base G ignored the class
      // (same colours for every class at a given seed). A shorter z lets the one-hot weigh
      // more and less dropout lets D check the class: colours then follow the class.
      base: { noiseDim: 16, gHidden: [512, 512], dHidden: [256, 256], dropout: 0.2 },
      refine: REFINE,
    },
    stepsPerLevel: STEPS,
    batchSize: 64,
    seed: 1,
    pad: 0,
    dataDescription: `shapes({ label: 'color-shape', objects: 1 }): the shapes entry's ${SHAPES_TRAIN_SIZE} training scenes (seed 1)`,
    data: async () => ({
      train: shapes({ size: SHAPES_TRAIN_SIZE, seed: 1, label: 'color-shape', objects: 1 }),
      test: shapes({ size: SHAPES_TEST_SIZE, seed: 2, label: 'color-shape', objects: 1 }),
    }),
  },
};

export function lapganRecipe(entry: string): LapganRecipe {
  const recipe = LAPGAN_RECIPES[entry];
  if (!recipe) throw new Error(`lapgan: no LAPGAN recipe for entry '${entry}'; entries are ${Object.keys(LAPGAN_RECIPES).join(', ')}`);
  return recipe;
}

/**
 * A data set's images padded with `pad` zero pixels on every side (labels unchanged), held
 * as one tensor made on first use: the shapes scenes are drawn procedurally, which costs
 * as much as a base-level training step per batch. `dispose` frees the tensor.
 */
export function paddedImages(data: Dataset, pad: number): ImageSet & { dispose(): void } {
  let all: Tensor4D | undefined;
  return {
    size: data.size,
    labels: data.labels,
    images(indices) {
      all ??= tf.tidy(() => {
        const images = data.images({ start: 0, end: data.size });
        return pad === 0
          ? images
          : (tf.pad(images, [
              [0, 0],
              [pad, pad],
              [pad, pad],
              [0, 0],
            ]) as Tensor4D);
      });
      const source = all;
      return tf.tidy(() => tf.gather(source, tf.tensor1d([...indices], 'int32')));
    },
    dispose() {
      all?.dispose();
      all = undefined;
    },
  };
}

/** The centre of images padded by `pad` (the inverse of `paddedImages`); a new tensor. */
export function cropPadding(images: Tensor4D, pad: number): Tensor4D {
  if (pad === 0) return images.clone();
  const [, h, w] = images.shape;
  return tf.slice(images, [0, pad, pad, 0], [-1, h - 2 * pad, w - 2 * pad, -1]);
}

/** Parameters of a fully connected base G with hidden layers `hidden` making size x size x channels images. */
function baseGParams(noiseDim: number, classes: number, hidden: readonly number[], out: number): number {
  let inputs = noiseDim + classes;
  let total = 0;
  for (const units of [...hidden, out]) {
    total += inputs * units + units;
    inputs = units;
  }
  return total;
}

/** Parameters of a fully connected base D with hidden layers `hidden` on size x size x channels images. */
function baseDParams(classes: number, hidden: readonly number[], image: number): number {
  return baseGParams(image, classes, hidden, 1);
}

/** Smallest-error width w for two hidden layers [w, w] so that `count(w)` is closest to `target`. */
function matchWidth(count: (w: number) => number, target: number): number {
  let best = 1;
  for (let w = 1; w <= 4096; w++) {
    if (Math.abs(count(w) - target) < Math.abs(count(best) - target)) best = w;
  }
  return best;
}

/** Parameters of the pyramid's generators and discriminators (all levels together). */
export function pyramidParams(config: PyramidConfig): { g: number; d: number } {
  const pyramid = createPyramid(config);
  try {
    let g = 0;
    let d = 0;
    for (const level of pyramid.levels) {
      const counts = level.paramCounts();
      g += counts.g;
      d += counts.d ?? 0;
    }
    return { g, d };
  } finally {
    pyramid.dispose();
  }
}

/**
 * The single-scale baseline: one base level at the pyramid's finest size, with G's and D's
 * two hidden layers as wide as makes their parameter counts closest to the pyramid's G
 * and D totals.
 */
export function baselineConfig(config: PyramidConfig, overrides: LapganRecipe['baseline'] = {}): PyramidConfig {
  const size = config.sizes[config.sizes.length - 1]!;
  const image = size * size * config.channels;
  const classes = config.numClasses ?? 0;
  const noiseDim = overrides.noiseDim ?? config.base?.noiseDim ?? 100;
  const target = pyramidParams(config);
  const gWidth = matchWidth((w) => baseGParams(noiseDim, classes, [w, w], image), target.g);
  const dWidth = matchWidth((w) => baseDParams(classes, [w, w], image), target.d);
  return {
    sizes: [size],
    channels: config.channels,
    numClasses: classes,
    ...(config.classNames === undefined ? {} : { classNames: config.classNames }),
    base: { ...config.base, ...overrides, noiseDim, gHidden: [gWidth, gWidth], dHidden: [dWidth, dWidth] },
  };
}
