import * as tf from '@tensorflow/tfjs';
import type { Condition, Encoder, Generator, ImageShape, Prior } from '@ppgn/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { NonFiniteError, type SampleOptions, sample } from './sampler.js';
import type { SamplerTerm } from './terms.js';
import { BACKENDS, halfDaePrior, halfPixelPrior, linearGenerator, matrix, sigmoidGenerator, targetCondition, useBackend } from './test-models.js';

const SHAPE: ImageShape = [32, 32, 3];

function fixedShapeCondition(imageShape: ImageShape, id = 'mnist-class(3)'): Condition {
  return { ...targetCondition(0.5, imageShape, id) };
}

/** An MLP DAE on 64-d codes: (R(h) - h) with R a 64 -> 64 dense layer. */
function mlpPrior(size: number, declare = false): Prior {
  const w = tf.eye(size);
  return {
    id: `dae-${size}`,
    space: 'h',
    ...(declare ? { latentShape: [size] } : {}),
    describe: () => `DAE on ${size}-d codes`,
    gradLogProb: (h) => tf.tidy(() => tf.sub(tf.mul(tf.matMul(h as tf.Tensor2D, w), 0.5), h)),
    dispose: () => w.dispose(),
  } as Prior;
}

function codeEncoder(codeShape: number[], imageShape: ImageShape): Encoder {
  return {
    id: 'enc',
    imageShape,
    codeShape,
    describe: () => 'mean pixel',
    encode: (x) => tf.tidy(() => tf.tile(tf.reshape(tf.mean(x, [1, 2, 3]), [-1, 1]), [1, codeShape[0]!])) as tf.Tensor2D,
    dispose: () => {},
  };
}

/** Checks that `options` is refused with `message` and that nothing leaks on the way. */
async function refuses(options: SampleOptions, message: RegExp | string): Promise<void> {
  const before = tf.memory().numTensors;
  await expect(sample(options)).rejects.toThrow(message);
  expect(tf.memory().numTensors).toBe(before);
}

for (const backend of BACKENDS) {
  describe(`validation [${backend}]`, () => {
    let g32: Generator;
    let g8: Generator;
    beforeAll(async () => {
      await useBackend(backend);
      g32 = sigmoidGenerator(128, SHAPE, 1, 'cifar/generator');
      g8 = sigmoidGenerator(8, [4, 4, 1], 1, 'tiny/generator');
    });
    const base = () => ({ generator: g8, batch: 2, seed: 1, steps: 3 });

    it('generator image shape vs the condition: names both', async () => {
      await refuses(
        { ...base(), generator: g32, condition: fixedShapeCondition([28, 28, 1]) },
        'sample: generator cifar/generator makes 32x32x3 images but condition mnist-class(3) accepts 28x28x1',
      );
      // the same check covers every condition of a schedule
      await refuses(
        {
          ...base(),
          generator: g32,
          condition: [
            { fromStep: 0, condition: fixedShapeCondition(SHAPE, 'ok') },
            { fromStep: 10, condition: fixedShapeCondition([28, 28, 1], 'other') },
          ],
        },
        /condition other accepts 28x28x1/,
      );
    });

    it('prior vs latent size: declared, probed and returned shapes', async () => {
      await refuses(
        { ...base(), generator: g32, prior: mlpPrior(64, true) },
        'sample: prior dae-64 works on latent codes of shape [64] but generator cifar/generator takes latent codes of shape [128]',
      );
      await refuses({ ...base(), generator: g32, prior: mlpPrior(64) }, /prior dae-64 \(space 'h'\) fails on generator cifar\/generator's latent codes \[1, 128\]/);
      const wrong: Prior = {
        id: 'flat',
        space: 'h',
        describe: () => 'wrong size',
        gradLogProb: (h) => tf.zeros([h.shape[0]!, 10]),
        dispose: () => {},
      };
      await refuses({ ...base(), prior: wrong }, "sample: prior flat returns directions of shape [10] but generator tiny/generator's latent code has shape [8]");
    });

    it('variant vs prior space', async () => {
      await refuses(
        { ...base(), variant: 'ppgn-x', prior: halfDaePrior(new Array(8).fill(0), 'dae-h') },
        "sample: variant ppgn-x expects a prior in space 'x' (a DAE on pixels) but prior dae-h is in space 'h'",
      );
      await refuses(
        { ...base(), variant: 'joint-ppgn-h', prior: halfPixelPrior(0, 'pixel-dae') },
        "variant joint-ppgn-h expects a prior in space 'h' (a prior on the code h) but prior pixel-dae is in space 'x'",
      );
      await refuses({ ...base(), variant: 'ppgn-h' }, "sample: variant ppgn-h needs a prior in space 'h' but none was given");
      await refuses({ ...base(), variant: 'dgn-am', prior: halfDaePrior(new Array(8).fill(0), 'dae-h') }, /variant dgn-am takes no learned prior .* but prior dae-h/);
      await refuses({ ...base(), variant: 'ppgn-z' as never }, "sample: unknown variant 'ppgn-z', expected one of dgn-am, ppgn-x, ppgn-h, joint-ppgn-h, noiseless-joint-ppgn-h");
    });

    it('inpainting image and mask shapes and values', async () => {
      const img = tf.zeros([4, 4, 1]);
      const img3 = tf.zeros([32, 32, 3]);
      const mask = tf.ones([4, 4]);
      const badMask = tf.ones([5, 4]);
      const bigMask = tf.fill([4, 4], 2);
      const img5 = tf.zeros([5, 4, 4, 1]);
      await refuses({ ...base(), inpaint: { image: img3, mask } }, 'sample: inpaint.image is 32x32x3 but generator tiny/generator makes 4x4x1 images');
      await refuses({ ...base(), inpaint: { image: img, mask: badMask } }, 'sample: inpaint.mask has shape [5, 4] but the image is 4x4x1 with 2 chains');
      await refuses({ ...base(), inpaint: { image: img, mask: bigMask } }, 'sample: inpaint.mask values lie in [2, 2]; expected values in [0, 1] (1 = hole)');
      await refuses({ ...base(), inpaint: { image: img5, mask } }, 'sample: inpaint.image has batch 5 but the sampler runs 2 chains (expected 1 or 2)');
      await refuses(
        { ...base(), inpaint: { image: img, mask, encoder: codeEncoder([8], [8, 8, 1]) } },
        'sample: inpaint.encoder enc accepts 8x8x1 images but generator tiny/generator makes 4x4x1',
      );
      const badFill = tf.zeros([4, 4, 3]);
      await refuses(
        { ...base(), inpaint: { image: img, mask, fill: badFill } },
        'sample: inpaint.fill has shape [4, 4, 3] but the image is 4x4x1 with 2 chains (expected [4, 4, 1] or [1|2, 4, 4, 1])',
      );
      await refuses({ ...base(), inpaint: { image: img, mask, fill: Number.NaN } }, 'sample: inpaint.fill must be a tensor or a finite number, got NaN');
      tf.dispose([img, img3, mask, badMask, bigMask, img5, badFill]);
    });

    it('start codes and encoders', async () => {
      const h = tf.zeros([2, 7]);
      const images = tf.zeros([2, 4, 4, 1]) as tf.Tensor4D;
      await refuses(
        { ...base(), init: h },
        'sample: init has shape [2, 7] but generator tiny/generator takes latent codes [8] (expected [2, 8], [1, 8] or [8])',
      );
      await refuses(
        { ...base(), init: { encoder: codeEncoder([16], [4, 4, 1]), images } },
        'sample: encoder enc makes codes of shape [16] but generator tiny/generator takes [8]',
      );
      await refuses({ ...base(), init: { encoder: codeEncoder([8], [8, 8, 1]), images } }, 'sample: init.images has shape [2, 4, 4, 1] but encoder enc accepts 8x8x1 images');
      await refuses({ ...base(), init: () => tf.zeros([2, 3]) }, 'sample: init function returned codes of shape [2, 3] but generator tiny/generator needs [2, 8]');
      const nan = tf.fill([2, 8], Number.NaN);
      await refuses({ ...base(), init: nan }, 'sample: the starting codes h contain NaN or infinite values');
      tf.dispose([h, images, nan]);
    });

    it('settings, terms and schedules', async () => {
      await refuses({ ...base(), steps: -1 }, 'sample: steps is -1, expected an integer >= 0');
      await refuses({ ...base(), batch: 0 }, 'sample: batch is 0, expected an integer >= 1');
      await refuses({ ...base(), eps3: -1 }, 'sample: eps3 is -1, expected a standard deviation >= 0');
      await refuses({ ...base(), eps1: Number.NaN }, 'sample: eps1 is NaN, expected a finite number');
      await refuses({ ...base(), clip: [1, 0] }, 'sample: clip is [1, 0], expected [low, high] with low <= high, or null');
      await refuses({ ...base(), lrSchedule: 'exponential', lr: 1, lrEnd: 0 }, /an exponential lrSchedule needs lr and lrEnd of the same sign/);
      await refuses({ ...base(), stepMode: 'adam' as never }, "sample: stepMode is 'adam', expected 'normalised' or 'plain'");
      const term = (name: string): SamplerTerm => ({ name, description: '', weight: 1, gradient: ({ h }) => tf.zerosLike(h) });
      await refuses({ ...base(), terms: [term('noise')] }, "sample: term name 'noise' is taken by a built-in term (prior, condition, noise, context)");
      await refuses({ ...base(), terms: [term('a'), term('a')] }, "sample: two terms are named 'a'");
      const c = targetCondition(0.5);
      await refuses(
        { ...base(), condition: [{ fromStep: 5, condition: c }, { fromStep: 5, condition: c }] },
        'sample: condition schedule steps must increase, but entry 1 starts at 5 after 5',
      );
      await refuses({ ...base(), reset: { every: 0 } }, 'sample: reset.every is 0, expected an integer >= 1');
      c.dispose();
    });

    it('wrong shapes returned during a step name the culprit', async () => {
      const lying: Generator = { ...g8, id: 'liar', imageShape: [2, 2, 1] };
      await refuses({ ...base(), generator: lying }, 'sample: generator liar returned images of shape [2, 4, 4, 1] for codes [2, 8]; it declares 2x2x1 (expected [2, 2, 2, 1])');
      const scalar: Condition = { id: 'sum', describe: () => '', logProb: (x) => tf.sum(x) as unknown as tf.Tensor1D, dispose: () => {} };
      await refuses({ ...base(), condition: scalar }, 'sample: condition sum returned log-probabilities of shape [] for 2 images (expected [2])');
      const badTerm: SamplerTerm = { name: 'bad', description: '', weight: 1, space: 'x', gradient: () => tf.zeros([2, 3]) };
      await refuses({ ...base(), terms: [badTerm] }, "sample: term 'bad' returned a direction of shape [2, 3] but expected [2, 4, 4, 1]");
    });

    it('NaN in h stops the chain with the step number, the chain and the culprit term', async () => {
      const boom: SamplerTerm = {
        name: 'boom',
        description: 'NaN at step 3 in chain 1',
        weight: 1,
        gradient: ({ h, step }) =>
          step === 3 ? tf.mul(h, tf.tensor2d([[1], [Number.NaN]])) : tf.zerosLike(h),
      };
      const before = tf.memory().numTensors;
      const err = await sample({ ...base(), steps: 10, terms: [boom], condition: undefined, stepMode: 'plain' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NonFiniteError);
      expect((err as NonFiniteError).message).toMatch(/^sample: h became NaN or infinite at step 3 in chain 1 \(non-finite terms: boom\)/);
      expect((err as NonFiniteError).step).toBe(3);
      expect((err as NonFiniteError).chain).toBe(1);
      expect(tf.memory().numTensors).toBe(before);
      // a condition whose gradient explodes is named too
      const lin = linearGenerator(matrix(8, 16, 3), [4, 4, 1]);
      const log: Condition = {
        id: 'sqrt',
        describe: () => 'square root of pixels (NaN gradient below 0)',
        logProb: (x) => tf.sum(tf.sqrt(x), [1, 2, 3]) as tf.Tensor1D,
        dispose: () => {},
      };
      await expect(sample({ ...base(), generator: lin, condition: log, stepMode: 'plain', steps: 5 })).rejects.toThrow(
        /h became NaN or infinite at step 0 in chain \d \(non-finite terms: condition\)/,
      );
    });
  });
}
