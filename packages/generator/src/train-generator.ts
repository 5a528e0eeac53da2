import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import {
  Adam,
  type AdamOptions,
  assertImageBatch,
  batchReader,
  type Encoder,
  type ImageShape,
  minimizeStep,
  type ReportedLoss,
  type Rng,
  runTraining,
  shapeToString,
  type StepLosses,
  type StepObjective,
  type TrainingData,
  type TrainingResult,
  type TrainingRunOptions,
} from '@ppgn/core';
import { DgnGenerator, symbolic } from './dgn-generator.js';

/**
 * Weights of G's loss terms. Every term is a mean over its elements, with images in [0, 1],
 * so the weights are scale-free:
 * - `image`: ||G(h) - x||^2 (pixel mean). Default 1.
 * - `feature`: ||E1(G(h)) - E1(x)||^2 at the lower layer `featureEncoder`. Default 0.1
 *   when a featureEncoder is given (must be 0 otherwise).
 * - `code`: ||E(G(h)) - h||^2, the h reconstruction that makes G + E a DAE on h (Joint
 *   PPGN-h). Default 0.
 * - `adversarial`: -log sigmoid(D(G(h))). Default 0.01 when a discriminator is given (must
 *   be 0 otherwise).
 * DeePSiM's Caffe weights (image 2e-6 on summed squared errors of 227x227x3 images in
 * 0..255, GAN 100) put the image term about 100x above the GAN term once both are per-
 * element means on [0, 1] pixels; that ratio gives the adversarial default. The feature
 * weight depends on the feature scale of E1: tune it.
 */
export interface GeneratorLosses {
  image?: number;
  feature?: number;
  code?: number;
  adversarial?: number;
}

/**
 * Standard deviations of the Gaussian noise that makes G + E a denoising autoencoder
 * (Joint PPGN-h). All default 0.
 * - `x`: added to the data image before it is encoded (h = E(clip(x + n))); targets stay clean.
 * - `h`: added to h before G; the targets (x, E1(x), h) stay clean.
 * - `h1`: added to the features E1(x) before the encoder's upper part (`featureHead`)
 *   computes h from them; needs `featureEncoder` and `featureHead`.
 */
export interface GeneratorNoise {
  x?: number;
  h?: number;
  h1?: number;
}

/** Options of `trainGenerator`. */
export interface TrainGeneratorOptions extends TrainingRunOptions {
  /** G to train: a model from `buildGenerator` or a `DgnGenerator` over one. */
  generator: LayersModel | DgnGenerator;
  /** E, fixed: h = E(x) is G's input, and the target of the `code` loss. */
  encoder: Encoder;
  /** E1, fixed: the lower-layer features h1 compared by the `feature` loss. */
  featureEncoder?: Encoder;
  /** E2, the part of E above E1 (h = E2(h1)); only needed for `noise.h1`. */
  featureHead?: (h1: Tensor2D) => Tensor2D;
  /** D, trained alongside G when given: logits [batch, 1] for images of G's shape. */
  discriminator?: LayersModel;
  /** Image batches [B, H, W, C] in [0, 1] (see `TrainingData`). */
  data: TrainingData<Tensor4D>;
  /** Batch size when `data` is a whole set (also passed to a data function). Default 32. */
  batchSize?: number;
  losses?: GeneratorLosses;
  noise?: GeneratorNoise;
  /** Adam for G (default learning rate 2e-4, beta1 0.9, beta2 0.999). */
  optimizer?: AdamOptions;
  /** Adam for D. Default: the same as G's. */
  discriminatorOptimizer?: AdamOptions;
  /** GAN balancing: pause D while lossD/lossG < this. Default 0.1. */
  pauseDiscriminatorBelow?: number;
  /** GAN balancing: pause G's adversarial term while lossD/lossG > this. Default 10. */
  pauseAdversarialAbove?: number;
}

/** What `trainGenerator` returns. */
export interface TrainGeneratorResult extends TrainingResult {
  /** Steps on which D was paused, and on which G's adversarial term was (over the whole run, restored steps included). */
  paused: { discriminator: number; adversarial: number };
}

/** GAN balance state carried between steps (and saved in checkpoints). */
interface GanState {
  /** lossD / lossG of the previous step, or null before the first. */
  ratio: number | null;
  pausedD: number;
  pausedAdv: number;
}

const softplus = (x: Tensor): Tensor => tf.softplus(x);

function sameShape(a: readonly (number | null)[], b: readonly (number | null)[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function codeSize(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/**
 * Trains G as the inverter of a fixed encoder E (PPGN "Training G"): G(h) for h = E(x)
 * must reproduce x in pixels, in E1 features and (Joint PPGN-h) in E itself, optionally
 * against a discriminator D that is trained alongside with the DeePSiM pause rule (D pauses
 * while lossD/lossG < 0.1, G's adversarial term while > 10, judged on the previous step).
 * lossD is the mean of the real and fake cross-entropies. G and D are updated from
 * gradients taken at the same weights. Noise on x, h and h1 (`noise`) turns G + E into a
 * DAE. Resumes from `checkpointDir`; throws `NonFiniteLossError` on a NaN loss.
 */
export async function trainGenerator(options: TrainGeneratorOptions): Promise<TrainGeneratorResult> {
  const who = 'trainGenerator';
  const gen = options.generator instanceof DgnGenerator ? options.generator : new DgnGenerator(options.generator);
  const G = gen.model;
  const imageShape: ImageShape = gen.imageShape;
  const latent = gen.latentShape;
  const E = options.encoder;
  const E1 = options.featureEncoder;
  const D = options.discriminator;

  if (!sameShape(E.imageShape, imageShape)) {
    throw new Error(`${who}: the encoder takes ${shapeToString(E.imageShape)} images but the generator makes ${shapeToString(imageShape)}`);
  }
  if (codeSize(E.codeShape) !== codeSize(latent)) {
    throw new Error(
      `${who}: the encoder gives ${shapeToString(E.codeShape)}-d codes but the generator takes ${shapeToString(latent)}-d h`,
    );
  }
  if (E1 && !sameShape(E1.imageShape, imageShape)) {
    throw new Error(
      `${who}: the feature encoder takes ${shapeToString(E1.imageShape)} images but the generator makes ${shapeToString(imageShape)}`,
    );
  }
  if (D) {
    const inShape = D.inputs[0]!.shape;
    const outShape = D.outputs[0]!.shape;
    if (D.inputs.length !== 1 || !sameShape(inShape.slice(1), imageShape)) {
      throw new Error(
        `${who}: the discriminator takes ${symbolic(inShape)} but the generator makes ${shapeToString(imageShape)} images`,
      );
    }
    if (D.outputs.length !== 1 || !sameShape(outShape, [null, 1])) {
      throw new Error(`${who}: the discriminator must output one logit per image [batch, 1], it outputs ${symbolic(outShape)}`);
    }
  }

  const lambda = {
    image: options.losses?.image ?? 1,
    feature: options.losses?.feature ?? (E1 ? 0.1 : 0),
    code: options.losses?.code ?? 0,
    adversarial: options.losses?.adversarial ?? (D ? 0.01 : 0),
  };
  for (const [k, v] of Object.entries(lambda)) {
    if (!(Number.isFinite(v) && v >= 0)) throw new Error(`${who}: losses.${k} must be a finite number >= 0, got ${v}`);
  }
  if (lambda.feature > 0 && !E1) throw new Error(`${who}: losses.feature is ${lambda.feature} but no featureEncoder was given`);
  if (lambda.adversarial > 0 && !D) throw new Error(`${who}: losses.adversarial is ${lambda.adversarial} but no discriminator was given`);
  if (lambda.image + lambda.feature + lambda.code + lambda.adversarial === 0) throw new Error(`${who}: every loss weight is 0`);
  const noise = { x: options.noise?.x ?? 0, h: options.noise?.h ?? 0, h1: options.noise?.h1 ?? 0 };
  for (const [k, v] of Object.entries(noise)) {
    if (!(Number.isFinite(v) && v >= 0)) throw new Error(`${who}: noise.${k} must be a finite number >= 0, got ${v}`);
  }
  if (noise.h1 > 0 && !(E1 && options.featureHead)) {
    throw new Error(`${who}: noise.h1 needs both a featureEncoder (E1) and a featureHead (E2, h = E2(h1))`);
  }
  const pauseBelow = options.pauseDiscriminatorBelow ?? 0.1;
  const pauseAbove = options.pauseAdversarialAbove ?? 10;
  const batchSize = options.batchSize ?? 32;
  const reader = batchReader(options.data, batchSize, who, (b) => assertImageBatch(b, imageShape, `${who}: data batch`));

  const optG = new Adam(G, options.optimizer);
  const optD = D ? new Adam(D, options.discriminatorOptimizer ?? options.optimizer) : undefined;
  const models: Record<string, LayersModel> = D ? { G, D } : { G };
  const optimizers: Record<string, Adam> = optD ? { G: optG, D: optD } : { G: optG };
  const weightShapes = (m: LayersModel) => m.weights.map((w) => w.shape);

  try {
    const result = await runTraining<GanState>({
      ...options,
      who,
      models,
      optimizers,
      state: { ratio: null, pausedD: 0, pausedAdv: 0 },
      fingerprint: {
        batchSize,
        losses: lambda,
        noise,
        optimizer: { learningRate: optG.learningRate, beta1: optG.beta1, beta2: optG.beta2 },
        G: weightShapes(G),
        D: D ? weightShapes(D) : null,
      },
      onResume: (step) => reader.skip(step),
      step: async (step, rng, state) => {
        const batch = await reader.next(step, rng);
        try {
          const pauseD = D !== undefined && state.ratio !== null && state.ratio < pauseBelow;
          const pauseAdv = D !== undefined && state.ratio !== null && state.ratio > pauseAbove;
          const losses = trainStep(step, batch.tensor, rng, pauseD, pauseAdv);
          return {
            losses,
            state: {
              ratio: D ? losses.discriminator! / Math.max(losses.adversarial!, 1e-12) : null,
              pausedD: state.pausedD + (pauseD ? 1 : 0),
              pausedAdv: state.pausedAdv + (pauseAdv ? 1 : 0),
            },
          };
        } finally {
          if (batch.owned) batch.tensor.dispose();
        }
      },
    });
    const { state, ...rest } = result;
    return { ...rest, paused: { discriminator: state.pausedD, adversarial: state.pausedAdv } };
  } finally {
    optG.dispose();
    optD?.dispose();
  }

  /** One step: gradients for G (and D) at the current weights, finite checks, then updates. */
  function trainStep(step: number, x: Tensor4D, rng: Rng, pauseD: boolean, pauseAdv: boolean): StepLosses {
    const B = x.shape[0];
    const kept: { fake?: Tensor4D } = {};
    const { h, hIn, h1Target } = tf.tidy(() => {
      const xIn = noise.x > 0 ? tf.clipByValue(tf.add(x, rng.normalTensor(x.shape, 0, noise.x)), 0, 1) : x;
      let code: Tensor2D;
      if (noise.h1 > 0) {
        const f = E1!.encode(xIn as Tensor4D);
        code = options.featureHead!(tf.add(f, rng.normalTensor(f.shape, 0, noise.h1)) as Tensor2D);
      } else {
        code = E.encode(xIn as Tensor4D);
      }
      const hh = tf.reshape(code, [B, ...latent]);
      const hn = noise.h > 0 ? tf.add(hh, rng.normalTensor(hh.shape, 0, noise.h)) : hh;
      const t1 = lambda.feature > 0 ? E1!.encode(x) : undefined;
      return { h: hh, hIn: hn, h1Target: t1 };
    });
    try {
      const wAdv = pauseAdv ? 0 : lambda.adversarial;
      const lossG = (): ReportedLoss => {
        const xg = G.apply(hIn, { training: true }) as Tensor4D;
        kept.fake = tf.keep(xg);
        let total = tf.scalar(0);
        const report: Record<string, Scalar> = {};
        const add = (name: string, weight: number, loss: () => Scalar, always = false) => {
          if (weight === 0 && !always) return;
          const l = loss();
          report[name] = l;
          if (weight !== 0) total = tf.add(total, tf.mul(l, weight));
        };
        add('image', lambda.image, () => tf.mean(tf.squaredDifference(xg, x)));
        add('feature', lambda.feature, () => tf.mean(tf.squaredDifference(E1!.encode(xg), h1Target!)));
        add('code', lambda.code, () => tf.mean(tf.squaredDifference(tf.reshape(E.encode(xg), h.shape), h)));
        if (D) add('adversarial', wAdv, () => tf.mean(softplus(tf.neg(D.apply(xg, { training: true }) as Tensor))), true);
        return { loss: total as Scalar, report };
      };
      const objectives: StepObjective[] = [
        // With only the paused adversarial term left, G is not updated on this step.
        { optimizer: optG, loss: lossG, name: 'total', gradNorm: 'gradNormG', update: lambda.image + lambda.feature + lambda.code + wAdv > 0 },
      ];
      if (D) {
        // D's loss on the fakes G made in its own loss, from the weights before either update.
        const lossD = (): Scalar =>
          tf.mul(
            tf.add(
              tf.mean(softplus(tf.neg(D.apply(x, { training: true }) as Tensor))),
              tf.mean(softplus(D.apply(kept.fake!, { training: true }) as Tensor)),
            ),
            0.5,
          );
        objectives.push({ optimizer: optD!, loss: lossD, name: 'discriminator', gradNorm: pauseD ? undefined : 'gradNormD', update: !pauseD });
      }
      return minimizeStep(objectives, who, step);
    } finally {
      tf.dispose([h, hIn, h1Target].filter((t): t is Tensor => t !== undefined));
      if (kept.fake) tf.dispose(kept.fake);
    }
  }
}


