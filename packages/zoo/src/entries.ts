import type { ImageShape } from '@ppgn/core';
import type { SamplerSettings } from '@ppgn/sampler';
import { MNIST_CODE_SIZE, MNIST_H_DAE_SIGMA, MNIST_X_DAE_SIGMA, mnistRecipe } from './recipes/mnist.js';
import type { Recipe } from './recipes/recipe.js';
import { SHAPES_CODE_SIZE, SHAPES_H_DAE_SIGMA, SHAPES_X_DAE_SIGMA, shapesRecipe } from './recipes/shapes.js';

/** How the parts of a zoo entry fit together (layer names, noise levels, code range). */
export interface EntrySpec {
  name: string;
  imageShape: ImageShape;
  /** Layer of the condition classifier whose activations are h = E(x). */
  encoderLayer: string;
  /** The lower layer h1 used for feature matching when training G. */
  featureLayer: string;
  codeSize: number;
  /** Range the sampler clips h to (E's layer is post-ReLU). */
  clip: [number, number];
  hDaeSigma: number;
  xDaeSigma: number;
  /** The evaluator's feature layer (Frechet distance, diversity, neighbours). */
  evaluatorFeatureLayer: string;
  recipe: Recipe;
  /** Objective of the class condition for the PPGN variants (DGN-AM always uses the raw logit). */
  conditionObjective: 'log-softmax' | 'diagonal';
  /**
   * Sampler settings tuned for this entry, per variant (over the variant's official preset);
   * `caption-<variant>` keys hold the caption settings (over the official caption preset).
   */
  sampler: Partial<Record<string, Partial<SamplerSettings>>>;
  /** Caption sampling beyond the sampler settings: the default variant, where chains start, chains run per sample. */
  captionSampling?: { variant?: 'ppgn-h' | 'dgn-am' | 'joint-ppgn-h' | 'noiseless-joint-ppgn-h'; start?: 'noise' | 'scenes'; restarts?: number };
  /** Inpainting: what E sees in the hole at the start, black ('masked') or the training mean image ('mean'). */
  inpaintStart?: 'masked' | 'mean';
}

export const ZOO_ENTRIES: Readonly<Record<string, EntrySpec>> = {
  mnist: {
    name: 'mnist',
    imageShape: [28, 28, 1],
    encoderLayer: 'fc',
    featureLayer: 'pool2',
    codeSize: MNIST_CODE_SIZE,
    clip: [0, 30],
    hDaeSigma: MNIST_H_DAE_SIGMA,
    xDaeSigma: MNIST_X_DAE_SIGMA,
    evaluatorFeatureLayer: 'features',
    recipe: mnistRecipe,
    conditionObjective: 'log-softmax',
    // Inpainting (random 14x14 holes): the official eps4 = 1e-9 (for 0-255 pixels) leaves the
    // known region ignored here (hole MSE 0.217, evaluator 50%); 1e-3 with the preset's 20
    // steps at lr 1, which jump about the code, gives 0.146 and 73%. Smaller, decaying steps fit
    // the known pixels: lr 0.3 -> 0.03 over 100 steps gives 0.101 and 76.5%, and starting from
    // E(the image with the training mean image in the hole) instead of E(black hole) 0.093 and
    // 81.5% (mean fill 0.120, nearest training image 0.107), on 200 digits spread over the
    // held-out set; tuned on its first 200 (eps4 1e-2 or 1e-4: no gain).
    // Neuron facets: lr 1 overshoots and can leave a facet where the unit is silent; lr 0.1
    // for 100 steps kept all facets firing (fc[5] and conv2b[7]: 195-199% of the top real images).
    sampler: {
      inpainting: { eps4: 1e-3, lr: 0.3, lrEnd: 0.03, lrSchedule: 'linear', steps: 100 },
      neuron: { lr: 0.1, steps: 100 },
    },
    inpaintStart: 'mean',
  },
  shapes: {
    name: 'shapes',
    imageShape: [32, 32, 3],
    encoderLayer: 'fc',
    featureLayer: 'pool2',
    codeSize: SHAPES_CODE_SIZE,
    clip: [0, 30],
    hDaeSigma: SHAPES_H_DAE_SIGMA,
    xDaeSigma: SHAPES_X_DAE_SIGMA,
    evaluatorFeatureLayer: 'features',
    recipe: shapesRecipe,
    conditionObjective: 'log-softmax',
    // Captions: scene codes are small (mean 0.35, 99th percentile 3.7), so the official
    // caption preset's lr 1 -> 0 throws chains off the codes G knows. Short runs (4
    // captions x 6 chains, attribute evaluator agreeing with every attribute): lr 0.03
    // 17%, 0.1 8%, 0.01 8%, 0.3 with clip [0, 30] 4%, eps1 1e-2 4%. Larger steps raise
    // log p(caption) further but fool the captioner rather than draw the caption. Starting
    // from E(x) of random training scenes (on G's manifold) takes larger steps: on 6 other
    // captions x 8 chains, noise start lr 0.03 12.5%, scene start lr 0.03 4%, 0.1 10%,
    // 0.3 17%; best of 3-4 chains by log p(caption) 6-10% (raises log p, not agreement);
    // an h-DAE with sigma 0.15 (worse than identity on held-out codes) 8%; 400 steps 10%.
    // Over the 12 result captions: 2.6% -> 4.2% of samples, objects 17% -> 26%.
    // Retuned for the 11000-step scene G on the 6 tuning captions of caption-results.ts
    // (x 16 chains, every attribute / objects): lr 0.3 10% / 18%, 0.1 13% / 29%, 0.05 10%;
    // eps1 1e-2 6%; best of 3 chains 13% (lr 0.1 and 0.3), so one chain per sample. On
    // the 12 reported captions, measured after the choice: lr 0.1 6.8%, 0.3 7.8% (noise).
    // Joint PPGN-h (G fine-tuned with noise on x and h and the code loss, prior E(G(h)) - h)
    // on the same 6 tuning captions x 16 chains, every attribute / objects / relation: lr 0.05
    // 5% / 11% / 18%, 0.1 13% / 18% / 20%, 0.3 16% / 24% / 26%, 0.5 19% / 29% / 28%, 0.7 18%,
    // 1 17% / 30% / 25%; eps1 1e-2 8%, 1e-1 6% (lr 0.1). PPGN-h there: lr 0.1 13% / 29% / 23%,
    // 0.3 10%, 0.5 13%. The noise-robust G takes larger steps, so joint-ppgn-h at lr 0.5 is the default.
    sampler: {
      'caption-ppgn-h': { lr: 0.1, clip: [0, 10] },
      'caption-dgn-am': { lr: 0.1, clip: [0, 10] },
      'caption-joint-ppgn-h': { lr: 0.5, clip: [0, 10] },
      'caption-noiseless-joint-ppgn-h': { lr: 0.5, clip: [0, 10] },
    },
    captionSampling: { variant: 'joint-ppgn-h', start: 'scenes' },
  },
};

export function entrySpec(name: string): EntrySpec {
  const spec = ZOO_ENTRIES[name];
  if (!spec) throw new Error(`zoo: unknown entry '${name}'; entries are ${Object.keys(ZOO_ENTRIES).join(', ')}`);
  return spec;
}
