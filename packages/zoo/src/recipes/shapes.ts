import { shapes, shapesClassNames } from '@ppgn/data';
import { ppgnRecipe } from './ppgn-recipe.js';

/** Images in the shapes entry's training and held-out sets (procedural, seeds 1 and 2). */
export const SHAPES_TRAIN_SIZE = 20000;
export const SHAPES_TEST_SIZE = 2000;
export const SHAPES_CODE_SIZE = 256;
export const SHAPES_H_DAE_SIGMA = 0.5;
export const SHAPES_X_DAE_SIGMA = 0.15;

/**
 * The colour entry: 32x32 RGB scenes of one shape, labelled by its colour and shape (15
 * classes). One object per scene keeps the label unambiguous: in two-object scenes the
 * caption names either object first at random, so "the first object's class" is not a
 * property of the image (a classifier trained on mixed scenes stopped at 76% held out).
 */
export const shapesRecipe = ppgnRecipe({
  entry: 'shapes',
  description:
    'PPGN parts for the procedural shapes set (32x32 RGB, one shape per scene), classes = colour and shape',
  dataDescription: `shapes({ label: 'color-shape', objects: 1 }) from @ppgn/data: ${SHAPES_TRAIN_SIZE} train (seed 1), ${SHAPES_TEST_SIZE} held out (seed 2)`,
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
});
