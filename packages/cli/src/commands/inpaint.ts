import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Condition, readImage, Rng, saveJSON, shapeToString, writeGrid } from '@ppgn/core';
import { initBackend } from '@ppgn/backend';
import { nearestNeighbours } from '@ppgn/eval';
import { inpaintMask, MASK_KINDS, type MaskKind, PRESETS, type SampleResult, type SamplerSettings, sample } from '@ppgn/sampler';
import { loadZoo, VARIANT_NAMES, ZOO_ENTRIES, type ZooEntry, type ZooVariant } from '@ppgn/zoo';
import * as tf from '@tensorflow/tfjs';
import { type CommandSpec, type ParsedFlags, UsageError } from '../args.js';
import { displayScale } from '../outputs.js';
import { resolveClass } from './sample.js';

/** What E sees in the hole when a chain starts: black (the masked image) or the training mean image. */
export const INPAINT_STARTS = ['masked', 'mean'] as const;
export type InpaintStart = (typeof INPAINT_STARTS)[number];

export interface InpaintRunOptions {
  images: tf.Tensor4D;
  masks: tf.Tensor4D;
  /** Condition every chain on this class. */
  classIndex?: number;
  /** Or any condition (e.g. one label per chain); wins over classIndex. */
  condition?: Condition;
  variant: ZooVariant;
  seed: number;
  /** Default the entry's tuned choice (`inpaintStart`), else 'masked'. */
  start?: InpaintStart;
  /** The training set's mean image [H, W, C], needed by start 'mean'. */
  meanImage?: tf.Tensor;
  /** Over the inpainting preset and the entry's tuned inpainting settings. */
  settings?: Partial<SamplerSettings>;
}

/** Fills the hole of each image (batch) with one variant; the condition is the class when given. */
export async function inpaintImages(zoo: ZooEntry, options: InpaintRunOptions): Promise<SampleResult> {
  const parts = zoo.variant(options.variant);
  const tuned = zoo.spec.sampler.inpainting ?? {};
  const start = options.start ?? zoo.spec.inpaintStart ?? 'masked';
  if (start === 'mean' && !options.meanImage) throw new Error("inpaintImages: start 'mean' needs meanImage, the training set's mean image");
  const condition = options.condition ?? (options.classIndex === undefined ? undefined : zoo.classCondition(options.classIndex));
  return sample({
    generator: parts.generator,
    prior: parts.prior,
    condition,
    variant: options.variant,
    batch: options.images.shape[0],
    seed: options.seed,
    clip: zoo.spec.clip,
    ...PRESETS.inpainting,
    ...tuned,
    ...options.settings,
    inpaint: { image: options.images, mask: options.masks, encoder: zoo.encoder, ...(start === 'mean' ? { fill: options.meanImage } : {}) },
    keepTrace: false,
  });
}

/** The training set's mean image [H, W, C]. */
export async function trainMeanImage(zoo: ZooEntry): Promise<tf.Tensor3D> {
  const { train } = await zoo.spec.recipe.data();
  const images = train.images({ start: 0, end: train.size });
  const mean = tf.mean(images, 0) as tf.Tensor3D;
  images.dispose();
  return mean;
}

/** log p(label_i | x_i) under the classifier: chain i is conditioned on its own label. */
export function labelCondition(zoo: ZooEntry, labels: number[]): Condition {
  const targets = tf.oneHot(tf.tensor1d(labels, 'int32'), zoo.classNames.length);
  return {
    id: 'own-labels',
    describe: () => 'log p(label of each image | x) under the condition classifier',
    logProb: (x) =>
      tf.tidy(() => tf.sum(tf.mul(tf.logSoftmax(zoo.classifier.apply(x, { training: false }) as tf.Tensor2D), targets), 1) as tf.Tensor1D),
    dispose: () => targets.dispose(),
  };
}

/** Mean squared error inside the hole, per image. */
function holeError(filled: tf.Tensor4D, real: tf.Tensor4D, masks: tf.Tensor4D): number[] {
  return tf.tidy(() => {
    const sq = tf.mul(tf.square(tf.sub(filled, real)), masks);
    const area = tf.mul(tf.sum(masks, [1, 2, 3]), real.shape[3] / masks.shape[3]);
    return Array.from(tf.div(tf.sum(sq, [1, 2, 3]), area).dataSync());
  });
}

/**
 * Inpainting measured on held-out images with random square holes: the hole error of the
 * sampler against two baselines (the training set's mean image, and the training image
 * nearest in the known region), and the evaluator's accuracy on the completed images.
 */
export async function evaluateInpainting(
  zoo: ZooEntry,
  options: { count: number; variant: ZooVariant; seed: number; useClass: boolean; start?: InpaintStart; settings?: Partial<SamplerSettings> },
) {
  const { train, test } = await zoo.spec.recipe.data();
  const [H, W] = zoo.spec.imageShape;
  const rng = new Rng(options.seed);
  if (options.count > test.size) throw new UsageError(`--evaluate: ${options.count} images asked for; the held-out set has ${test.size}`);
  // Spread over the whole held-out set, which is stored grouped (its first 200 have no 8).
  const indices = Array.from({ length: options.count }, (_, i) => Math.floor((i * test.size) / options.count));
  const real = test.images(indices);
  const labels = indices.map((i) => test.labels[i]!);
  const masks = tf.stack(Array.from({ length: options.count }, () => inpaintMask('square', H, W, { random: () => rng.uniform() }))) as tf.Tensor4D;
  const trainImages = train.images({ start: 0, end: train.size });
  const meanImage = tf.mean(trainImages, 0);
  // One batch of chains; with useClass each chain is conditioned on its own image's label.
  const condition = options.useClass ? labelCondition(zoo, labels) : undefined;
  const result = await inpaintImages(zoo, {
    images: real,
    masks,
    condition,
    variant: options.variant,
    seed: options.seed,
    start: options.start,
    meanImage,
    settings: options.settings,
  });
  const completed = tf.clone(result.images) as tf.Tensor4D;
  result.dispose();
  condition?.dispose();
  const meanFill = tf.tidy(() => tf.add(tf.mul(real, tf.sub(1, masks)), tf.mul(meanImage, masks))) as tf.Tensor4D;
  // Nearest training image judged on the known pixels only, its hole pasted in.
  const known = tf.sub(1, masks);
  const nnIdx = tf.tidy(() => {
    const out: number[] = [];
    const dim = H * W * zoo.spec.imageShape[2];
    for (let i = 0; i < options.count; i++) {
      const k = tf.slice(known, [i, 0, 0, 0], [1, -1, -1, -1]);
      const q = tf.mul(tf.slice(real, [i, 0, 0, 0], [1, -1, -1, -1]), k).dataSync();
      const refs = tf.mul(trainImages, k).dataSync();
      out.push(nearestNeighbours(q, refs, dim, 1).indices[0]![0]!);
    }
    return out;
  });
  const nnFill = tf.tidy(() => tf.add(tf.mul(real, known), tf.mul(tf.gather(trainImages, nnIdx), masks))) as tf.Tensor4D;
  const evaluator = zoo.evaluator();
  const accuracy = (images: tf.Tensor4D) => {
    const out = evaluator.evaluate(images);
    let hit = 0;
    for (let i = 0; i < labels.length; i++) {
      let best = 0;
      for (let c = 1; c < out.numClasses; c++) if (out.probs[i * out.numClasses + c]! > out.probs[i * out.numClasses + best]!) best = c;
      if (best === labels[i]) hit++;
    }
    return hit / labels.length;
  };
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const metrics = {
    images: options.count,
    heldOut: `${options.count} images spread evenly over the ${test.size} held-out images`,
    hole: `random square, side ${Math.round(Math.min(H, W) / 2)}`,
    variant: options.variant,
    conditionedOnOwnLabel: options.useClass,
    start: options.start ?? zoo.spec.inpaintStart ?? 'masked',
    settings: { ...PRESETS.inpainting, ...(zoo.spec.sampler.inpainting ?? {}), ...options.settings },
    holeMse: { sampler: mean(holeError(completed, real, masks)), meanFill: mean(holeError(meanFill, real, masks)), nearestTrain: mean(holeError(nnFill, real, masks)) },
    evaluatorAccuracy: { sampler: accuracy(completed), meanFill: accuracy(meanFill), nearestTrain: accuracy(nnFill), original: accuracy(real) },
  };
  const masked = tf.mul(real, known) as tf.Tensor4D;
  const sheet = { masked, completed, meanFill, nnFill, real };
  tf.dispose([trainImages, meanImage, known, masks]);
  return { metrics, sheet };
}

/** Rows of masked | sampler | mean fill | nearest train | original, for the first `rows` images. */
export async function writeEvaluationSheet(
  file: string,
  sheet: Record<'masked' | 'completed' | 'meanFill' | 'nnFill' | 'real', tf.Tensor4D>,
  maxRows: number,
  scale: number,
): Promise<void> {
  const rows = Math.min(maxRows, sheet.real.shape[0]);
  const order = [sheet.masked, sheet.completed, sheet.meanFill, sheet.nnFill, sheet.real];
  const cells = tf.tidy(() => tf.concat(Array.from({ length: rows }, (_, i) => tf.concat(order.map((t) => tf.slice(t, [i, 0, 0, 0], [1, -1, -1, -1])))))) as tf.Tensor4D;
  const titles = ['masked', 'sampler', 'mean fill', 'nearest', 'original'];
  await writeGrid(file, cells, { columns: 5, scale, labels: Array.from({ length: rows * 5 }, (_, i) => (i < 5 ? titles[i]! : '')) });
  cells.dispose();
}

function settingsFromFlags(flags: ParsedFlags): Partial<SamplerSettings> {
  const out: Partial<SamplerSettings> = {};
  for (const key of ['eps1', 'eps4', 'lr', 'steps'] as const) {
    if (flags[key] !== undefined) out[key] = flags[key] as number;
  }
  if (flags['lr-end'] !== undefined) Object.assign(out, { lrEnd: flags['lr-end'] as number, lrSchedule: 'linear' });
  return out;
}

export const inpaintCommand: CommandSpec = {
  name: 'inpaint',
  summary: 'fill a hole in an image consistently with the known pixels (and a class, if given); or measure it on held-out images',
  usage: 'inpaint --zoo mnist (--image FILE | --index N | --evaluate COUNT) [--mask square|left|right|top|bottom|center|FILE] [--class K]',
  flags: {
    zoo: { type: 'string', help: 'zoo entry', choices: Object.keys(ZOO_ENTRIES), default: 'mnist' },
    image: { type: 'string', help: 'PNG/JPEG of the entry\'s image size' },
    index: { type: 'integer', help: 'use this held-out image instead of a file', min: 0 },
    evaluate: { type: 'integer', help: 'measure on this many held-out images with random square holes', min: 1 },
    mask: { type: 'string', help: `hole: ${MASK_KINDS.join('|')} or a PNG (white = hole)`, default: 'center' },
    class: { type: 'string', help: 'class to condition on' },
    n: { type: 'integer', help: 'chains per image (they start from the same code; with no noise they agree)', min: 1, max: 64, default: 1 },
    variant: { type: 'string', help: 'sampler variant', choices: VARIANT_NAMES, default: 'noiseless-joint-ppgn-h' },
    steps: { type: 'integer', help: 'sampler steps (default the inpainting preset)', min: 1 },
    eps4: { type: 'number', help: 'weight of the known-region context term', min: 0 },
    eps1: { type: 'number', help: 'prior weight', min: 0 },
    lr: { type: 'number', help: 'step size (first step)', min: 0 },
    'lr-end': { type: 'number', help: 'step size at the last step (linear schedule)', min: 0 },
    start: { type: 'string', help: "what the encoder sees in the hole at the start: masked (black) or mean (the training mean image); default the entry's tuned choice", choices: INPAINT_STARTS },
    'use-label': { type: 'boolean', help: 'with --evaluate: condition each image on its own label' },
    seed: { type: 'integer', help: 'random seed', default: 1 },
    out: { type: 'string', help: 'output directory', default: 'out/inpaint' },
  },
  async run(flags) {
    const sources = ['image', 'index', 'evaluate'].filter((k) => flags[k] !== undefined);
    if (sources.length !== 1) throw new UsageError('give exactly one of --image FILE, --index N or --evaluate COUNT');
    if (flags['use-label'] && flags.evaluate === undefined) throw new UsageError('--use-label goes with --evaluate; to condition one image on a class, give --class K');
    await initBackend();
    const zoo = await loadZoo(flags.zoo as string);
    const out = flags.out as string;
    await mkdir(out, { recursive: true });
    const [H, W, C] = zoo.spec.imageShape;
    const scale = displayScale(H);
    const variant = flags.variant as ZooVariant;
    try {
      if (flags.evaluate !== undefined) {
        const { metrics, sheet } = await evaluateInpainting(zoo, {
          count: flags.evaluate as number,
          variant,
          seed: flags.seed as number,
          useClass: flags['use-label'] === true,
          start: flags.start as InpaintStart | undefined,
          settings: settingsFromFlags(flags),
        });
        await writeEvaluationSheet(join(out, 'evaluation.png'), sheet, 8, scale);
        tf.dispose(Object.values(sheet));
        await saveJSON(join(out, 'metrics.json'), metrics);
        console.log(JSON.stringify(metrics, null, 2));
        return;
      }
      let image: tf.Tensor4D;
      if (flags.image !== undefined) {
        const read = await readImage(flags.image as string, { channels: C as 1 | 3 });
        if (read.shape[0] !== H || read.shape[1] !== W) {
          read.dispose();
          throw new UsageError(`--image: ${flags.image} is ${shapeToString(read.shape)}; the ${zoo.name} entry needs ${shapeToString([H, W, C])}`);
        }
        image = tf.expandDims(read, 0) as tf.Tensor4D;
        read.dispose();
      } else {
        const { test } = await zoo.spec.recipe.data();
        const index = flags.index as number;
        if (index >= test.size) throw new UsageError(`--index: ${index} is out of range; the held-out set has ${test.size} images`);
        image = test.images([index]);
      }
      const maskArg = flags.mask as string;
      let mask: tf.Tensor;
      if ((MASK_KINDS as readonly string[]).includes(maskArg)) {
        const rng = new Rng(flags.seed as number);
        mask = inpaintMask(maskArg as MaskKind, H, W, { random: () => rng.uniform() });
      } else {
        const read = await readImage(maskArg, { channels: 1 });
        if (read.shape[0] !== H || read.shape[1] !== W) {
          read.dispose();
          throw new UsageError(`--mask: ${maskArg} is ${shapeToString(read.shape)}; it must be ${H}x${W}`);
        }
        mask = tf.tidy(() => tf.round(read));
        read.dispose();
      }
      const n = flags.n as number;
      const start = (flags.start as InpaintStart | undefined) ?? zoo.spec.inpaintStart ?? 'masked';
      const meanImage = start === 'mean' ? await trainMeanImage(zoo) : undefined;
      const classIndex = flags.class === undefined ? undefined : resolveClass(flags.class as string, zoo.classNames, '--class');
      const images = tf.tile(image, [n, 1, 1, 1]) as tf.Tensor4D;
      const masks = tf.tile(tf.expandDims(mask, 0), [n, 1, 1, 1]) as tf.Tensor4D;
      const result = await inpaintImages(zoo, {
        images,
        masks,
        classIndex,
        variant,
        seed: flags.seed as number,
        start,
        meanImage,
        settings: settingsFromFlags(flags),
      });
      const masked = tf.tidy(() => tf.mul(image, tf.sub(1, mask))) as tf.Tensor4D;
      const row = tf.concat([masked, result.images, image]) as tf.Tensor4D;
      const labels = ['masked', ...Array.from({ length: n }, (_, i) => (n === 1 ? 'result' : `result ${i + 1}`)), 'original'];
      await writeGrid(join(out, 'inpaint.png'), row, { columns: n + 2, labels, scale });
      console.log(`wrote ${join(out, 'inpaint.png')} (masked | ${n === 1 ? 'result' : `${n} results`} | original)`);
      tf.dispose([image, mask, images, masks, masked, row]);
      meanImage?.dispose();
      result.dispose();
    } finally {
      zoo.dispose();
    }
  },
};
