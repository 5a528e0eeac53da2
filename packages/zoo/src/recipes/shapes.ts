import { shapes, shapesClassNames, type ShapesDataset } from '@ppgn/data';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { buildConditionClassifier } from '../architectures.js';
import { ATTRIBUTE_OUTPUTS, ATTRIBUTE_OUTPUTS_WITH_BACKGROUND, buildAttributeEvaluator, predictObjects, trainAttributeModel } from '../shapes-attributes.js';
import { scoreAttributePredictions } from '../shapes-captions.js';
import { ppgnRecipe } from './ppgn-recipe.js';
import { type Stage, scaled, stageClock } from './recipe.js';

/** Images in the shapes entry's training and held-out sets (procedural, seeds 1 and 2). */
export const SHAPES_TRAIN_SIZE = 20000;
export const SHAPES_TEST_SIZE = 2000;
export const SHAPES_CODE_SIZE = 256;
export const SHAPES_H_DAE_SIGMA = 0.5;
export const SHAPES_X_DAE_SIGMA = 0.15;
/** Noise of the DAE on scene codes, set apart from the codes' own size (mean 0.35). */
export const SHAPES_SCENES_H_DAE_SIGMA = 0.5;

/**
 * The scenes the caption parts train on: one or two objects (`objects: 'mixed'`), the
 * same seeds and sizes as the captioner's training set (seed 1) and held-out set (seed 2).
 */
export async function shapesScenes(): Promise<{ train: ShapesDataset; test: ShapesDataset }> {
  return {
    train: shapes({ size: SHAPES_TRAIN_SIZE, seed: 1, objects: 'mixed' }),
    test: shapes({ size: SHAPES_TEST_SIZE, seed: 2, objects: 'mixed' }),
  };
}

/**
 * The scene encoder: the condition classifier's architecture (so `fc` is a 256-wide code
 * and `pool2` its features) with the 60 attribute outputs instead of class logits, trained
 * on mixed scenes. The one-object classifier's code keeps the second object poorly: a
 * linear probe on it finds both objects' colour-shape classes in 53% of held-out
 * two-object scenes (100% of one-object scenes), so G cannot invert it into two objects.
 * The extra background output matters: without it the code dropped the background and G,
 * unable to tell dark from light, stalled at grey blurs (image error 0.084 from step 500 to 1500).
 */
function buildSceneEncoder(seed: number): LayersModel {
  return buildConditionClassifier([32, 32, 3], ATTRIBUTE_OUTPUTS_WITH_BACKGROUND, SHAPES_CODE_SIZE, seed);
}

function attributeStage(args: { name: string; summary: string; architecture: string; seed: number; steps: number; build: () => LayersModel }): Stage {
  return {
    name: args.name,
    needs: [],
    summary: args.summary,
    async run(ctx) {
      const { train, test } = await shapesScenes();
      const model = args.build();
      const clock = await stageClock(ctx);
      const steps = scaled(args.steps, ctx);
      const batchSize = 64;
      await trainAttributeModel({ model, train, steps, batchSize, seed: args.seed, ...clock.run });
      const images = test.images({ start: 0, end: test.size });
      const predicted = predictObjects(model, images);
      images.dispose();
      const metrics = scoreAttributePredictions(test.scenes, predicted);
      return {
        model,
        report: clock.report(model, {
          architecture: args.architecture,
          steps,
          batchSize,
          seed: args.seed,
          metrics: { ...metrics },
        }),
      };
    },
  };
}

/**
 * The colour entry: 32x32 RGB scenes of one shape, labelled by its colour and shape (15
 * classes). One object per scene keeps the label unambiguous: in two-object scenes the
 * caption names either object first at random, so "the first object's class" is not a
 * property of the image (a classifier trained on mixed scenes stopped at 76% held out).
 * The caption parts (scene-encoder, attribute-evaluator, generator-scenes, h-dae-scenes)
 * train on mixed one- and two-object scenes.
 */
export const shapesRecipe = ppgnRecipe({
  entry: 'shapes',
  description:
    'PPGN parts for the procedural shapes set (32x32 RGB, one shape per scene), classes = colour and shape; caption parts on scenes of one or two shapes',
  dataDescription: `shapes({ label: 'color-shape', objects: 1 }) from @ppgn/data: ${SHAPES_TRAIN_SIZE} train (seed 1), ${SHAPES_TEST_SIZE} held out (seed 2); caption parts: shapes({ objects: 'mixed' }), same sizes and seeds`,
  split: `two seeded sets: train seed 1 (${SHAPES_TRAIN_SIZE}), test seed 2 (${SHAPES_TEST_SIZE})`,
  imageShape: [32, 32, 3],
  classNames: [...shapesClassNames('color-shape')],
  data: async () => ({
    train: shapes({ size: SHAPES_TRAIN_SIZE, seed: 1, label: 'color-shape', objects: 1 }),
    test: shapes({ size: SHAPES_TEST_SIZE, seed: 2, label: 'color-shape', objects: 1 }),
  }),
  codeSize: SHAPES_CODE_SIZE,
  maxShift: 0,
  steps: { classifier: 3000, evaluator: 2500, generator: 3000, joint: 1500, hDae: 4000, xDae: 2500 },
  generator: { fcUnits: [512], baseChannels: 128 },
  discriminatorChannels: [32, 64, 128],
  hDaeSigma: SHAPES_H_DAE_SIGMA,
  xDaeSigma: SHAPES_X_DAE_SIGMA,
  extraStages: (build) => [
    attributeStage({
      name: 'scene-encoder',
      summary: 'scene encoder E for captions: the condition classifier architecture with 15 x (presence, x, y, size) and background outputs, on mixed scenes',
      architecture: `conv3x3 32, conv3x3 32, maxpool, conv3x3 64, conv3x3 64, maxpool (pool2 = h1), dense ${SHAPES_CODE_SIZE} relu (fc = h), dropout 0.3, dense ${ATTRIBUTE_OUTPUTS_WITH_BACKGROUND} (15 x presence, x, y, size; light background)`,
      seed: 51,
      steps: 1500,
      build: () => buildSceneEncoder(51),
    }),
    attributeStage({
      name: 'attribute-evaluator',
      summary: 'attribute evaluator (judges captions; another architecture and seed): 15 x (presence, x, y, size) on mixed scenes',
      architecture: `conv3x3 relu 32, 64 (stride 2), 128 (stride 2), 128 (stride 2), dense 192 relu (features), dense ${ATTRIBUTE_OUTPUTS} (15 x presence, x, y, size)`,
      seed: 111,
      steps: 3250,
      build: () => buildAttributeEvaluator([32, 32, 3], 111),
    }),
    build.generator({
      name: 'generator-scenes',
      summary: 'G inverting the scene encoder on mixed one/two-object scenes (image + feature + adversarial losses): caption sampling',
      seed: 61,
      // At 1000 steps G drew the scene layout in grey: colour comes last. After 2000 steps
      // (image error 0.0138) it drew colour blobs, never crisp shapes: the phases after
      // weigh E's pool2 features 10x more (the shape-telling term) and end with a lower rate:
      // image error 0.0071 after 11000 steps, triangles, circles and squares told apart.
      steps: 2000,
      losses: { image: 1, feature: 0.1, adversarial: 0.01 },
      laterPhases: [
        { steps: 7000, losses: { image: 1, feature: 1, adversarial: 0.01 } },
        { steps: 2000, losses: { image: 1, feature: 1, adversarial: 0.01 }, learningRate: 5e-5 },
      ],
      encoderPart: 'scene-encoder',
      data: shapesScenes,
    }),
    build.generator({
      name: 'generator-scenes-joint',
      summary: 'G fine-tuned from generator-scenes as a DAE with the scene encoder (adds ||E(G(h)) - h||^2 and noise on x and h): Joint PPGN-h for captions',
      seed: 71,
      // The joint stage's code loss and noise; image and feature weights as in the scene G's last phases.
      steps: 1500,
      initFrom: 'generator-scenes',
      losses: { image: 1, feature: 1, adversarial: 0.01, code: 0.02 },
      noise: { x: 0.05, h: 0.5 },
      encoderPart: 'scene-encoder',
      data: shapesScenes,
    }),
    build.hDae({
      name: 'h-dae-scenes',
      summary: `DAE on the scene encoder's codes of mixed scenes (PPGN-h prior for captions), sigma ${SHAPES_SCENES_H_DAE_SIGMA}`,
      encoderPart: 'scene-encoder',
      sigma: SHAPES_SCENES_H_DAE_SIGMA,
      data: shapesScenes,
    }),
  ],
});
