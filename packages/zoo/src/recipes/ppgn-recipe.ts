import { join } from 'node:path';
import { loadModel, Rng } from '@ppgn/core';
import { encoderAt } from '@ppgn/condition-classifier';
import type { ImageShape } from '@ppgn/core';
import type { Dataset } from '@ppgn/data';
import { buildDiscriminator, buildGenerator, type GeneratorLosses, type GeneratorNoise, trainGenerator } from '@ppgn/generator';
import { buildHDae, buildXDae, denoisingError, trainHDae, trainXDae } from '@ppgn/priors';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { entryDir } from '../paths.js';
import { buildConditionClassifier, buildEvaluatorClassifier } from '../architectures.js';
import { classifierAccuracy, trainClassifier } from '../train-classifier.js';
import { type Recipe, type Stage, type StageContext, scaled, stageClock } from './recipe.js';

/** Everything that differs between PPGN zoo entries; the stages are the same. */
export interface PpgnRecipeConfig {
  entry: string;
  description: string;
  /** Where the images come from, for the model card. */
  dataDescription: string;
  split: string;
  imageShape: ImageShape;
  classNames: string[];
  data(): Promise<{ train: Dataset; test: Dataset }>;
  /** Size of the code h = E(x): the post-ReLU `fc` layer of the condition classifier. */
  codeSize: number;
  /** Random shifts (pixels) when training the classifiers. */
  maxShift: number;
  steps: { classifier: number; evaluator: number; generator: number; joint: number; hDae: number; xDae: number };
  generator: { fcUnits: number[]; baseChannels: number };
  discriminatorChannels: number[];
  hDaeSigma: number;
  xDaeSigma: number;
  /** Stages beyond the standard six, built from the same stage code (see `PpgnStageBuilders`). */
  extraStages?: (build: PpgnStageBuilders) => Stage[];
}

/** Where a G or h-DAE stage gets E and its images, when not from the condition classifier. */
export interface EncoderSource {
  /** The trained part whose `fc` layer is E (and `pool2` E1). Default 'classifier'. */
  encoderPart?: string;
  /** Training and held-out images. Default: the entry's data. */
  data?: () => Promise<{ train: Dataset; test: Dataset }>;
}

/** The entry's stage factories, for extra stages that reuse them. */
export interface PpgnStageBuilders {
  generator(args: GeneratorStageArgs): Stage;
  hDae(args: HDaeStageArgs): Stage;
}

export interface HDaeStageArgs extends EncoderSource {
  name: string;
  summary: string;
  /** Training noise; default the entry's `hDaeSigma`. */
  sigma?: number;
}

export interface GeneratorStageArgs extends EncoderSource {
  name: string;
  summary: string;
  seed: number;
  steps: number;
  losses: GeneratorLosses;
  noise?: GeneratorNoise;
  /** Start from this trained part's weights (fine-tuning) instead of a fresh G. */
  initFrom?: string;
  /** Adam learning rate of G and D for the first `steps`. Default 2e-4. */
  learningRate?: number;
  /**
   * Phases that continue training G and D after the first `steps`, each with its own loss
   * weights and learning rate and a fresh optimizer: a stepwise schedule. Each phase
   * checkpoints in its own folder, so a rerun resumes in the right phase.
   */
  laterPhases?: GeneratorPhase[];
}

/** A later training phase of a generator stage. */
export interface GeneratorPhase {
  steps: number;
  losses: GeneratorLosses;
  /** Default: the learning rate of the phase before. */
  learningRate?: number;
}

/** The PPGN stages for one entry: C (and E), the evaluator, G, the joint G, the h-DAE and the x-DAE. */
export function ppgnRecipe(cfg: PpgnRecipeConfig): Recipe {
  const data = cfg.data;
  const shape = cfg.imageShape;
  const numClasses = cfg.classNames.length;
  const shapeText = shape.join('x');

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
          maxShift: cfg.maxShift,
          seed: args.seed,
          ...clock.run,
        });
        const report = clock.report(model, {
          architecture: args.architecture,
          steps,
          batchSize,
          seed: args.seed,
          metrics: {
            testAccuracy: Number(classifierAccuracy(model, test).toFixed(4)),
            trainAccuracy: Number(classifierAccuracy(model, train).toFixed(4)),
          },
        });
        return { model, report };
      },
    };
  }

  /** Denoising error of a pixel DAE on held-out images (the identity map scores sigma^2). */
  async function heldOutDenoising(dae: LayersModel, sigma: number): Promise<number> {
    const { test } = await data();
    const clean = test.images({ start: 0, end: Math.min(500, test.size) });
    const mse = denoisingError(dae, clean, sigma, new Rng(7));
    clean.dispose();
    return Number(mse.toFixed(5));
  }

  /** Every training image as one tensor: steps draw seeded batches from it. */
  async function trainImages(source = data): Promise<{ images: tf.Tensor4D; train: Dataset }> {
    const { train } = await source();
    return { images: train.images({ start: 0, end: train.size }), train };
  }

  const loadPartModel = (entry: string, part: string) => loadModel(join(entryDir(entry), part));

  function generatorStage(args: GeneratorStageArgs): Stage {
    const encoderPart = args.encoderPart ?? 'classifier';
    const source = args.data ?? data;
    return {
      name: args.name,
      float16: true,
      needs: args.initFrom ? [encoderPart, args.initFrom] : [encoderPart],
      summary: args.summary,
      async run(ctx) {
        const classifier = await loadPartModel(ctx.entry, encoderPart);
        const encoder = encoderAt(classifier, 'fc');
        const featureEncoder = encoderAt(classifier, 'pool2');
        const G = buildGenerator({ latentSize: cfg.codeSize, imageShape: shape, ...cfg.generator, seed: args.seed });
        const D = buildDiscriminator({ imageShape: shape, channels: cfg.discriminatorChannels, seed: args.seed + 1 });
        if (args.initFrom) {
          const start = await loadModel(join(entryDir(ctx.entry), args.initFrom));
          G.setWeights(start.getWeights());
          start.dispose();
        }
        const { images } = await trainImages(source);
        const clock = await stageClock(ctx);
        const batchSize = 64;
        const phases: Required<GeneratorPhase>[] = [{ steps: args.steps, losses: args.losses, learningRate: args.learningRate ?? 2e-4 }];
        for (const p of args.laterPhases ?? []) phases.push({ ...p, learningRate: p.learningRate ?? phases.at(-1)!.learningRate });
        let steps = 0;
        let result: Awaited<ReturnType<typeof trainGenerator>> | undefined;
        const paused = { discriminator: 0, adversarial: 0 };
        for (const [k, phase] of phases.entries()) {
          const phaseSteps = scaled(phase.steps, ctx);
          // The first phase keeps the stage's own checkpoint folder (older runs resume there).
          const checkpointDir = k === 0 ? ctx.checkpointDir : join(ctx.checkpointDir, `phase-${k + 1}`);
          result = await trainGenerator({
            generator: G,
            encoder,
            featureEncoder,
            discriminator: D,
            data: images,
            batchSize,
            losses: phase.losses,
            noise: args.noise,
            optimizer: { learningRate: phase.learningRate },
            steps: phaseSteps,
            // Another seed per phase: later phases draw other batches than the first.
            seed: args.seed + 1000 * k,
            ...clock.run,
            checkpointDir,
          });
          steps += phaseSteps;
          paused.discriminator += result.paused.discriminator;
          paused.adversarial += result.paused.adversarial;
        }
        // Held-out reconstruction: how well G inverts E on held-out images.
        const { test } = await source();
        const metrics = tf.tidy(() => {
          const x = test.images({ start: 0, end: 500 });
          const h = encoder.encode(x);
          const xr = G.predict(h) as tf.Tensor;
          const hr = encoder.encode(xr as tf.Tensor4D);
          return {
            testImageMse: Number(
              tf
                .mean(tf.square(tf.sub(xr, x)))
                .dataSync()[0]!
                .toFixed(5),
            ),
            testCodeMse: Number(
              tf
                .mean(tf.square(tf.sub(hr, h)))
                .dataSync()[0]!
                .toFixed(5),
            ),
          };
        });
        const last = result?.history.at(-1) ?? {};
        images.dispose();
        D.dispose();
        classifier.dispose();
        const report = clock.report(G, {
          architecture: `${args.initFrom ? `fine-tuned from ${args.initFrom}; ` : ''}${encoderPart === 'classifier' ? '' : `inverts E = ${encoderPart}/fc; `}G: h(${cfg.codeSize}) -> dense ${cfg.generator.fcUnits.join(', ')} -> ${cfg.generator.baseChannels}-channel map -> upconv k4 s2 + conv k3 stages -> ${shapeText} sigmoid, LeakyReLU 0.3; D: conv k4 s2 ${cfg.discriminatorChannels.join(', ')} -> logit`,
          steps,
          batchSize,
          seed: args.seed,
          metrics: {
            ...metrics,
            losses: JSON.stringify(phases.length === 1 ? args.losses : phases.map((p) => ({ steps: scaled(p.steps, ctx), ...p.losses, learningRate: p.learningRate }))),
            noise: JSON.stringify(args.noise ?? {}),
            finalLosses: JSON.stringify(last),
            pausedD: paused.discriminator,
            pausedAdversarial: paused.adversarial,
          },
        });
        return { model: G, report };
      },
    };
  }

  function hDaeStage(args: HDaeStageArgs): Stage {
    const encoderPart = args.encoderPart ?? 'classifier';
    const sigma = args.sigma ?? cfg.hDaeSigma;
    const source = args.data ?? data;
    return {
    name: args.name,
    float16: true,
    needs: [encoderPart],
    summary: args.summary,
    async run(ctx) {
      const classifier = await loadPartModel(ctx.entry, encoderPart);
      const encoder = encoderAt(classifier, 'fc');
      const { images } = await trainImages(source);
      const codes = tf.tidy(() => {
        const parts: tf.Tensor[] = [];
        for (let start = 0; start < images.shape[0]; start += 1000) {
          parts.push(encoder.encode(tf.slice(images, [start, 0, 0, 0], [Math.min(1000, images.shape[0] - start), -1, -1, -1])));
        }
        return tf.concat(parts, 0) as tf.Tensor2D;
      });
      images.dispose();
      const { test } = await source();
      const testCodes = tf.tidy(() => encoder.encode(test.images({ start: 0, end: Math.min(500, test.size) })));
      classifier.dispose();
      const dae = buildHDae({ size: cfg.codeSize, seed: 21 });
      const clock = await stageClock(ctx);
      const steps = scaled(cfg.steps.hDae, ctx);
      const result = await trainHDae({
        dae,
        codes,
        sigma,
        batchSize: 64,
        steps,
        seed: 21,
        ...clock.run,
      });
      codes.dispose();
      const heldOut = Number(denoisingError(dae, testCodes, sigma, new Rng(7)).toFixed(5));
      testCodes.dispose();
      return {
        model: dae,
        report: clock.report(dae, {
          architecture: `${encoderPart === 'classifier' ? '' : `codes of ${encoderPart}/fc; `}MLP ${cfg.codeSize}-${dae.layers
            .filter((l) => l.getClassName() === 'Dense')
            .map((l) => (l.getConfig() as { units: number }).units)
            .join('-')}`,
          steps,
          batchSize: 64,
          seed: 21,
          metrics: {
            sigma,
            heldOutDenoisingMse: heldOut,
            identityMse: sigma ** 2,
            finalLosses: JSON.stringify(result.history.at(-1) ?? {}),
          },
        }),
      };
    },
    };
  }

  const xDaeStage: Stage = {
    name: 'x-dae',
    float16: true,
    needs: [],
    summary: `DAE on pixels (PPGN-x prior), sigma ${cfg.xDaeSigma}`,
    async run(ctx) {
      const { images } = await trainImages();
      const dae = buildXDae({ imageShape: shape, seed: 31 });
      const clock = await stageClock(ctx);
      const steps = scaled(cfg.steps.xDae, ctx);
      const result = await trainXDae({
        dae,
        images,
        sigma: cfg.xDaeSigma,
      // At 1e-3 the pixel DAE on MNIST collapsed to a black image (loss 0.11, gradients ~1e-6).
      optimizer: { learningRate: 2e-4 },
        batchSize: 64,
        steps,
        seed: 31,
        ...clock.run,
      });
      images.dispose();
      return {
        model: dae,
        report: clock.report(dae, {
          architecture: 'conv encoder 32-64 (stride 2) / upconv decoder, sigmoid output',
          steps,
          batchSize: 64,
          seed: 31,
          metrics: {
            sigma: cfg.xDaeSigma,
            heldOutDenoisingMse: await heldOutDenoising(dae, cfg.xDaeSigma),
            identityMse: cfg.xDaeSigma ** 2,
            finalLosses: JSON.stringify(result.history.at(-1) ?? {}),
          },
        }),
      };
    },
  };

  return {
    entry: cfg.entry,
    data,
    card: {
      entry: cfg.entry,
      description: cfg.description,
      data: cfg.dataDescription,
      split: cfg.split,
      imageShape: shape,
      classNames: cfg.classNames,
    },
    stages: [
      classifierStage({
        name: 'classifier',
        summary: `condition classifier C: conv32-conv32-pool-conv64-conv64-pool-fc${cfg.codeSize}(relu, = E)-logits${numClasses}`,
        seed: 1,
        steps: cfg.steps.classifier,
        architecture: `conv3x3 32, conv3x3 32, maxpool, conv3x3 64, conv3x3 64, maxpool (pool2 = h1), dense ${cfg.codeSize} relu (fc = h), dropout 0.3, dense ${numClasses} logits`,
        build: () => buildConditionClassifier(shape, numClasses, cfg.codeSize, 1),
      }),
      classifierStage({
        name: 'evaluator',
        summary: `evaluator (another architecture and seed): conv5x5 24-avgpool-conv5x5 48-avgpool-dense128(elu)-logits${numClasses}`,
        seed: 101,
        steps: cfg.steps.evaluator,
        architecture: `conv5x5 24 elu, avgpool, conv5x5 48 elu, avgpool, dense 128 elu (features), dense ${numClasses} logits`,
        build: () => buildEvaluatorClassifier(shape, numClasses, 101),
      }),
      generatorStage({
        name: 'generator',
        summary: 'G as the inverter of E (image + feature + adversarial losses): DGN-AM, PPGN-x and PPGN-h',
        seed: 11,
        steps: cfg.steps.generator,
        losses: { image: 1, feature: 0.1, adversarial: 0.01 },
      }),
      generatorStage({
        name: 'generator-joint',
        summary: 'G fine-tuned from G as a DAE with E (adds ||E(G(h)) - h||^2 and noise on x and h): Joint PPGN-h',
        seed: 41,
        steps: cfg.steps.joint,
        initFrom: 'generator',
        losses: { image: 1, feature: 0.1, adversarial: 0.01, code: 0.02 },
        noise: { x: 0.05, h: 0.5 },
      }),
      hDaeStage({ name: 'h-dae', summary: `DAE on h (PPGN-h prior), sigma ${cfg.hDaeSigma}` }),
      xDaeStage,
      ...(cfg.extraStages?.({ generator: generatorStage, hDae: hDaeStage }) ?? []),
    ],
  };
}
