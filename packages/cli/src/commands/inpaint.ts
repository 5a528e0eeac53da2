import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readImage, Rng, saveJSON, shapeToString, writeGrid } from '@ppgn/core';
import { initBackend } from '@ppgn/backend';
import { nearestNeighbours } from '@ppgn/eval';
import { inpaintMask, MASK_KINDS, type MaskKind, PRESETS, type SampleResult, sample } from '@ppgn/sampler';
import { loadZoo, VARIANT_NAMES, ZOO_ENTRIES, type ZooEntry, type ZooVariant } from '@ppgn/zoo';
import * as tf from '@tensorflow/tfjs';
import { type CommandSpec, UsageError } from '../args.js';
import { displayScale } from '../outputs.js';
import { resolveClass } from './sample.js';

/** Fills the hole of each image (batch) with one variant; the condition is the class when given. */
export async function inpaintImages(
  zoo: ZooEntry,
  options: { images: tf.Tensor4D; masks: tf.Tensor4D; classIndex?: number; variant: ZooVariant; seed: number; steps?: number; eps4?: number },
): Promise<SampleResult> {
  const parts = zoo.variant(options.variant);
  const tuned = zoo.spec.sampler.inpainting ?? {};
  return sample({
    generator: parts.generator,
    prior: parts.prior,
    condition: options.classIndex === undefined ? undefined : zoo.classCondition(options.classIndex),
    variant: options.variant,
    batch: options.images.shape[0],
    seed: options.seed,
    clip: zoo.spec.clip,
    ...PRESETS.inpainting,
    ...tuned,
    ...(options.steps ? { steps: options.steps } : {}),
    ...(options.eps4 !== undefined ? { eps4: options.eps4 } : {}),
    inpaint: { image: options.images, mask: options.masks, encoder: zoo.encoder },
    keepTrace: false,
  });
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
  options: { count: number; variant: ZooVariant; seed: number; useClass: boolean; steps?: number; eps4?: number },
) {
  const { train, test } = await zoo.spec.recipe.data();
  const [H, W] = zoo.spec.imageShape;
  const rng = new Rng(options.seed);
  const real = test.images({ start: 0, end: options.count });
  const labels = Array.from(test.labels.slice(0, options.count));
  const masks = tf.stack(Array.from({ length: options.count }, () => inpaintMask('square', H, W, { random: () => rng.uniform() }))) as tf.Tensor4D;
  const trainImages = train.images({ start: 0, end: train.size });
  // Conditioned on each image's own label (one chain per image), or on nothing (one batch).
  const runs = options.useClass ? labels.map((label, i) => ({ i, count: 1, label })) : [{ i: 0, count: options.count, label: undefined }];
  const parts: tf.Tensor4D[] = [];
  for (const run of runs) {
    const images = tf.slice(real, [run.i, 0, 0, 0], [run.count, -1, -1, -1]) as tf.Tensor4D;
    const holes = tf.slice(masks, [run.i, 0, 0, 0], [run.count, -1, -1, -1]) as tf.Tensor4D;
    const result = await inpaintImages(zoo, {
      images,
      masks: holes,
      classIndex: run.label,
      variant: options.variant,
      seed: options.seed + run.i,
      steps: options.steps,
      eps4: options.eps4,
    });
    parts.push(tf.clone(result.images));
    result.dispose();
    tf.dispose([images, holes]);
  }
  const completed = tf.concat(parts, 0) as tf.Tensor4D;
  tf.dispose(parts);
  const meanFill = tf.tidy(() => tf.add(tf.mul(real, tf.sub(1, masks)), tf.mul(tf.mean(trainImages, 0, true), masks))) as tf.Tensor4D;
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
    hole: `random square, side ${Math.round(Math.min(H, W) / 2)}`,
    variant: options.variant,
    conditionedOnClass: options.useClass,
    holeMse: { sampler: mean(holeError(completed, real, masks)), meanFill: mean(holeError(meanFill, real, masks)), nearestTrain: mean(holeError(nnFill, real, masks)) },
    evaluatorAccuracy: { sampler: accuracy(completed), meanFill: accuracy(meanFill), nearestTrain: accuracy(nnFill), original: accuracy(real) },
  };
  const masked = tf.mul(real, known) as tf.Tensor4D;
  const sheet = { masked, completed, meanFill, nnFill, real };
  tf.dispose([trainImages, known, masks]);
  return { metrics, sheet };
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
    n: { type: 'integer', help: 'completions per image', min: 1, max: 64, default: 4 },
    variant: { type: 'string', help: 'sampler variant', choices: VARIANT_NAMES, default: 'noiseless-joint-ppgn-h' },
    steps: { type: 'integer', help: 'sampler steps (default the inpainting preset)', min: 1 },
    eps4: { type: 'number', help: 'weight of the known-region context term', min: 0 },
    seed: { type: 'integer', help: 'random seed', default: 1 },
    out: { type: 'string', help: 'output directory', default: 'out/inpaint' },
  },
  async run(flags) {
    const sources = ['image', 'index', 'evaluate'].filter((k) => flags[k] !== undefined);
    if (sources.length !== 1) throw new UsageError('give exactly one of --image FILE, --index N or --evaluate COUNT');
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
          useClass: false,
          steps: flags.steps as number | undefined,
          eps4: flags.eps4 as number | undefined,
        });
        const rows = Math.min(8, sheet.real.shape[0]);
        const cells = tf.tidy(() =>
          tf.concat(
            Array.from({ length: rows }, (_, i) => tf.concat([sheet.masked, sheet.completed, sheet.meanFill, sheet.nnFill, sheet.real].map((t) => tf.slice(t, [i, 0, 0, 0], [1, -1, -1, -1])))),
          ),
        ) as tf.Tensor4D;
        await writeGrid(join(out, 'evaluation.png'), cells, { columns: 5, scale, labels: Array.from({ length: rows * 5 }, (_, i) => (i < 5 ? ['masked', 'sampler', 'mean fill', 'nearest', 'original'][i]! : '')) });
        tf.dispose([cells, ...Object.values(sheet)]);
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
      const classIndex = flags.class === undefined ? undefined : resolveClass(flags.class as string, zoo.classNames, '--class');
      const images = tf.tile(image, [n, 1, 1, 1]) as tf.Tensor4D;
      const masks = tf.tile(tf.expandDims(mask, 0), [n, 1, 1, 1]) as tf.Tensor4D;
      const result = await inpaintImages(zoo, {
        images,
        masks,
        classIndex,
        variant,
        seed: flags.seed as number,
        steps: flags.steps as number | undefined,
        eps4: flags.eps4 as number | undefined,
      });
      const masked = tf.tidy(() => tf.mul(image, tf.sub(1, mask))) as tf.Tensor4D;
      const row = tf.concat([masked, result.images, image]) as tf.Tensor4D;
      const labels = ['masked', ...Array.from({ length: n }, (_, i) => `result ${i + 1}`), 'original'];
      await writeGrid(join(out, 'inpaint.png'), row, { columns: n + 2, labels, scale });
      console.log(`wrote ${join(out, 'inpaint.png')} (masked | ${n} results | original)`);
      tf.dispose([image, mask, images, masks, masked, row]);
      result.dispose();
    } finally {
      zoo.dispose();
    }
  },
};
