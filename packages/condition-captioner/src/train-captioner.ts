import { assertImageBatch } from '@ppgn/core';
import {
  Adam,
  type AdamOptions,
  isTensor,
  minimizeStep,
  runTraining,
  type TrainingResult,
  type TrainingRunOptions,
} from '@ppgn/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor4D } from '@tensorflow/tfjs-core';
import { type CaptionInput, type Captioner, captionIds, targetWeights, teacherForcing } from './captioner.js';
import { greedyCaption } from './decode.js';

/**
 * Images with one caption each. `images` is a tensor [N, H, W, C] in [0, 1] or a function
 * returning the images at given indices (a `@ppgn/data` dataset's `images` method, so a
 * `shapes(...)` dataset is itself a `CaptionData`).
 */
export interface CaptionData {
  images: Tensor4D | ((indices: number[]) => Tensor4D);
  captions: readonly CaptionInput[];
}

/** Options of `trainCaptioner`. */
export interface TrainCaptionerOptions extends TrainingRunOptions {
  captioner: Captioner;
  data: CaptionData;
  /** Images per step, drawn at random from the step's seeded stream. Default 64. */
  batchSize?: number;
  /** Adam for both models. Default learning rate 1e-3, beta1 0.9, beta2 0.999. */
  optimizer?: AdamOptions;
  /** Gradients are rescaled to at most this global norm. Default 5; Infinity turns it off. */
  clipNorm?: number;
}

/**
 * Trains a captioner by teacher forcing: for each image the decoder reads `<bos> w1 .. wn`
 * and the loss is the mean cross-entropy of `w1 .. wn <eos>` over the batch's tokens.
 * Encoder and decoder are trained together (Adam each, one global gradient-norm clip).
 * Resumes from `checkpointDir`; throws `NonFiniteLossError` on a NaN loss. Losses per step:
 * `loss` (nats per token), `accuracy` (teacher-forced argmax per token) and `gradNorm`
 * (before clipping).
 */
export async function trainCaptioner(options: TrainCaptionerOptions): Promise<TrainingResult> {
  const who = 'trainCaptioner';
  const { captioner, data } = options;
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`${who}: batchSize must be a positive integer, got ${batchSize}`);
  const clipNorm = options.clipNorm ?? 5;
  if (!(clipNorm > 0)) throw new Error(`${who}: clipNorm must be > 0, got ${clipNorm}`);
  const n = data.captions.length;
  if (n === 0) throw new Error(`${who}: no captions`);
  const imageTensor = isTensor(data.images) ? (data.images as Tensor4D) : undefined;
  if (imageTensor) {
    assertImageBatch(imageTensor, captioner.imageShape, `${who}: data.images`);
    if (imageTensor.shape[0] !== n) throw new Error(`${who}: ${imageTensor.shape[0]} images but ${n} captions`);
  }
  const ids = data.captions.map((c, i) => captionIds(captioner, c, `${who}: caption ${i}`));
  const T = captioner.steps;
  const V = captioner.vocabulary.size;

  const readImages = (indices: number[]): Tensor4D => {
    if (imageTensor) return tf.tidy(() => tf.gather(imageTensor, tf.tensor1d(indices, 'int32')));
    const x = (data.images as (indices: number[]) => Tensor4D)(indices);
    if (x.rank !== 4 || x.shape[0] !== indices.length) {
      x.dispose();
      throw new Error(`${who}: data.images(${indices.length} indices) gave [${x.shape.join(', ')}]`);
    }
    try {
      assertImageBatch(x, captioner.imageShape, `${who}: data.images`);
    } catch (err) {
      x.dispose();
      throw err;
    }
    return x;
  };

  const optE = new Adam(captioner.encoder, { learningRate: 1e-3, ...options.optimizer });
  const optD = new Adam(captioner.decoder, { learningRate: 1e-3, ...options.optimizer });
  const shapes = (m: typeof captioner.encoder) => m.weights.map((w) => w.shape);

  try {
    const { state: _, ...result } = await runTraining<null>({
      ...options,
      who,
      models: { encoder: captioner.encoder, decoder: captioner.decoder },
      optimizers: { encoder: optE, decoder: optD },
      state: null,
      fingerprint: {
        batchSize,
        clipNorm: Number.isFinite(clipNorm) ? clipNorm : null,
        optimizer: { learningRate: optE.learningRate, beta1: optE.beta1, beta2: optE.beta2 },
        config: { ...captioner.config, seed: undefined },
        vocabulary: captioner.vocabulary.tokens,
        dataSize: n,
        encoder: shapes(captioner.encoder),
        decoder: shapes(captioner.decoder),
      },
      step: async (step, rng) => {
        const indices = Array.from({ length: batchSize }, () => rng.int(n));
        const forcing = teacherForcing(captioner, indices.map((i) => ids[i]!));
        const images = readImages(indices);
        const tokens = tf.tensor2d(forcing.inputs, [batchSize, T], 'int32');
        const weights = targetWeights(forcing, batchSize, T, V);
        const count = forcing.mask.reduce((a, b) => a + b, 0);
        try {
          const values = minimizeStep(
            {
              optimizer: [optE, optD],
              loss: () => {
                const logits = captioner.logits(captioner.features(images, true), tokens, true);
                const logp = tf.logSoftmax(logits);
                const hits = tf.mul(tf.cast(tf.equal(tf.argMax(logits, -1), tf.argMax(weights, -1)), 'float32'), tf.sum(weights, -1));
                return {
                  loss: tf.div(tf.neg(tf.sum(tf.mul(logp, weights))), count) as Scalar,
                  report: { accuracy: tf.div(tf.sum(hits), count) as Scalar },
                };
              },
              gradNorm: 'gradNorm',
              clipNorm,
            },
            who,
            step,
          );
          // The order the losses have always been reported in.
          return { losses: { loss: values.loss!, accuracy: values.accuracy!, gradNorm: values.gradNorm! }, state: null };
        } finally {
          tf.dispose([images, tokens, weights]);
        }
      },
    });
    return result;
  } finally {
    optE.dispose();
    optD.dispose();
  }
}

/** What `evaluateCaptioner` measures on a held-out set. */
export interface CaptionerMetrics {
  /** Images scored. */
  count: number;
  /** Fraction of images whose greedy caption equals the reference exactly. */
  exactMatch: number;
  /** Teacher-forced per-token accuracy: argmax of p(. | w_<t, x) equals w_t (words and `<eos>`). */
  wordAccuracy: number;
  /** Mean teacher-forced cross-entropy per token (nats). */
  tokenLoss: number;
  /** Mean log p(reference | x) per image. */
  meanLogProb: number;
  /** The greedy caption of each image. */
  greedy: string[];
}

/**
 * Scores a captioner on images with reference captions: exact match of greedy captions,
 * teacher-forced per-word accuracy and loss. Runs in batches of `batchSize` (default 250).
 */
export function evaluateCaptioner(
  captioner: Captioner,
  data: CaptionData,
  options: { batchSize?: number } = {},
): CaptionerMetrics {
  const n = data.captions.length;
  const size = options.batchSize ?? 250;
  const V = captioner.vocabulary.size;
  const T = captioner.steps;
  let hits = 0;
  let tokens = 0;
  let nll = 0;
  let exact = 0;
  const greedy: string[] = [];
  for (let start = 0; start < n; start += size) {
    const indices = Array.from({ length: Math.min(size, n - start) }, (_, i) => start + i);
    const images = isTensor(data.images)
      ? tf.tidy(() => tf.gather(data.images as Tensor4D, tf.tensor1d(indices, 'int32')))
      : (data.images as (indices: number[]) => Tensor4D)(indices);
    try {
      const refs = indices.map((i) => captionIds(captioner, data.captions[i]!, 'evaluateCaptioner'));
      const forcing = teacherForcing(captioner, refs);
      const [h, l] = tf.tidy(() => {
        const ids = tf.tensor2d(forcing.inputs, [indices.length, T], 'int32');
        const w = targetWeights(forcing, indices.length, T, V);
        const logits = captioner.logits(captioner.features(images), ids);
        const hit = tf.mul(tf.cast(tf.equal(tf.argMax(logits, -1), tf.argMax(w, -1)), 'float32'), tf.sum(w, -1));
        return [tf.sum(hit).dataSync()[0]!, tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), w))).dataSync()[0]!];
      });
      hits += h;
      nll += l;
      tokens += forcing.mask.reduce((a, b) => a + b, 0);
      const out = greedyCaption(captioner, images);
      out.forEach((r, k) => {
        greedy.push(r.caption);
        if (r.ids.join(',') === refs[k]!.join(',')) exact += 1;
      });
    } finally {
      images.dispose();
    }
  }
  return {
    count: n,
    exactMatch: exact / n,
    wordAccuracy: hits / tokens,
    tokenLoss: nll / tokens,
    meanLogProb: -nll / n,
    greedy,
  };
}
