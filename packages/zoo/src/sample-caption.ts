import { type Generator, type Prior, Rng } from '@ppgn/core';
import { shapes } from '@ppgn/data';
import { daePrior, jointPrior } from '@ppgn/priors';
import { PRESETS, type SampleResult, type SamplerSettings, sample } from '@ppgn/sampler';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import type { CaptionParts, ZooEntry } from './load.js';
import { type PredictedObject, predictObjects } from './shapes-attributes.js';
import { agreementRates, type CaptionAgreement, captionAgreement, formatShapesCaption, type ParsedCaption, parseShapesCaption } from './shapes-captions.js';

/**
 * Variants that sample captions: the scene G with the h-DAE on scene codes (ppgn-h) or
 * alone (dgn-am), or the joint scene G (part 'generator-scenes-joint') with the prior
 * E(G(h)) - h of the scene encoder (the joint variants).
 */
export const CAPTION_VARIANTS = ['ppgn-h', 'dgn-am', 'joint-ppgn-h', 'noiseless-joint-ppgn-h'] as const;
export type CaptionVariant = (typeof CAPTION_VARIANTS)[number];

/** Where caption chains start: h ~ N(0, 1) clipped, or the codes E(x) of random training scenes. */
export const CAPTION_STARTS = ['noise', 'scenes'] as const;
export type CaptionStart = (typeof CAPTION_STARTS)[number];

/** Training scenes the 'scenes' start draws from (seed 1: the caption parts' training set). */
const START_SCENES = shapes({ size: 20000, seed: 1, objects: 'mixed' });

/** Options of `sampleCaption`. */
export interface SampleCaptionOptions {
  caption: string;
  /** Default the entry's `captionSampling.variant`, else 'ppgn-h'. */
  variant?: CaptionVariant;
  n: number;
  seed: number;
  /** Overrides of the entry's tuned caption settings. */
  settings?: Partial<SamplerSettings>;
  /** false: the same chains without the caption condition (the unconditioned baseline). Default true. */
  conditioned?: boolean;
  /** Where chains start; default the entry's `captionSampling.start`, else 'noise'. */
  start?: CaptionStart;
  /**
   * Chains run per sample; each sample keeps the one that ends most likely under the
   * caption (the condition itself). Default the entry's `captionSampling.restarts`, else 1.
   */
  restarts?: number;
  onStep?: (info: { step: number; steps: number }) => void;
}

/** The caption parts of an entry, or an error saying it has none. */
export function captionParts(zoo: ZooEntry): CaptionParts {
  if (!zoo.captions) {
    throw new Error(
      `zoo '${zoo.name}' cannot sample captions: it needs a captioner and the 'generator-scenes' part (the shapes entry has them)`,
    );
  }
  return zoo.captions;
}

/**
 * Samples images for a caption: log p(caption | G(h)) under the entry's captioner steers
 * the chains of G over the scene encoder's code, with the h-DAE of scene codes as the prior
 * (PPGN-h), and the entry's tuned caption settings over the official caption preset.
 */
export async function sampleCaption(zoo: ZooEntry, options: SampleCaptionOptions): Promise<SampleResult> {
  const parts = captionParts(zoo);
  const variant = captionVariant(zoo, options.variant);
  const { generator, prior } = captionVariantParts(zoo, variant);
  const condition = options.conditioned === false ? undefined : parts.condition(options.caption);
  const settings = { clip: zoo.spec.clip, ...PRESETS.caption, ...zoo.spec.sampler[`caption-${variant}`], ...options.settings };
  const sampling = captionSampling(zoo, options);
  const start = sampling.start;
  // Without the caption there is nothing to select by: one chain per sample.
  const restarts = condition ? sampling.restarts : 1;
  const batch = options.n * restarts;
  const startImages = start === 'scenes' ? START_SCENES.images(randomIndices(new Rng(options.seed + 7919), batch, START_SCENES.size)) : undefined;
  try {
    const result = await sample({
      generator,
      prior,
      condition,
      variant,
      batch,
      seed: options.seed,
      ...settings,
      init: startImages ? { encoder: parts.sceneEncoder, images: startImages } : undefined,
      keepTrace: false,
      onStep: options.onStep ? (i) => options.onStep!({ step: i.step, steps: i.steps }) : undefined,
    });
    return restarts === 1 ? result : keepMostLikely(result, options.n, restarts);
  } finally {
    startImages?.dispose();
  }
}

/** The caption variant: the option, else the entry's `captionSampling.variant`, else 'ppgn-h'; an unknown name fails. */
export function captionVariant(zoo: ZooEntry, variant?: string): CaptionVariant {
  const name = variant ?? zoo.spec.captionSampling?.variant ?? 'ppgn-h';
  if (!(CAPTION_VARIANTS as readonly string[]).includes(name)) {
    throw new Error(`sampleCaption: variant must be one of ${CAPTION_VARIANTS.join(', ')}, got '${name}'`);
  }
  return name as CaptionVariant;
}

/** The generator and prior a caption variant runs with; a missing part fails naming it. */
export function captionVariantParts(zoo: ZooEntry, variant: CaptionVariant): { generator: Generator; prior?: Prior } {
  const parts = captionParts(zoo);
  const missing = (part: string) =>
    new Error(`zoo '${zoo.name}': caption sampling with ${variant} needs the '${part}' part, which is not trained; run 'ppgn train ${zoo.name} --stage ${part}'`);
  switch (variant) {
    case 'dgn-am':
      return { generator: parts.generator };
    case 'ppgn-h': {
      if (!parts.hDae) throw missing('h-dae-scenes');
      // The sigma the scene DAE was trained with (its card), which need not be the entry's h-DAE's.
      const sigma = Number(zoo.card.parts['h-dae-scenes']?.metrics?.sigma ?? zoo.spec.hDaeSigma);
      return { generator: parts.generator, prior: daePrior({ dae: parts.hDae, sigma }) };
    }
    case 'joint-ppgn-h':
    case 'noiseless-joint-ppgn-h':
      if (!parts.jointGenerator) throw missing('generator-scenes-joint');
      return { generator: parts.jointGenerator, prior: jointPrior({ encoder: parts.sceneEncoder }) };
  }
}

/** Where chains start and how many run per sample: the options, else the entry's `captionSampling`, else noise and 1. */
export function captionSampling(zoo: ZooEntry, options: Pick<SampleCaptionOptions, 'start' | 'restarts'> = {}): { start: CaptionStart; restarts: number } {
  const start = options.start ?? zoo.spec.captionSampling?.start ?? 'noise';
  if (!(CAPTION_STARTS as readonly string[]).includes(start)) throw new Error(`sampleCaption: start must be one of ${CAPTION_STARTS.join(', ')}, got '${start}'`);
  const restarts = options.restarts ?? zoo.spec.captionSampling?.restarts ?? 1;
  if (!Number.isInteger(restarts) || restarts < 1) throw new Error(`sampleCaption: restarts must be a positive integer, got ${restarts}`);
  return { start, restarts };
}

function randomIndices(rng: Rng, count: number, size: number): number[] {
  return Array.from({ length: count }, () => rng.int(size));
}

/** Chains i, i + n, ..., i + (restarts - 1) n compete for sample i: the highest log p(caption | x) wins. */
function keepMostLikely(result: SampleResult, n: number, restarts: number): SampleResult {
  const logProb = result.logProb!;
  const chosen = Array.from({ length: n }, (_, i) => {
    let best = i;
    for (let r = 1; r < restarts; r++) if (logProb[i + r * n]! > logProb[best]!) best = i + r * n;
    return best;
  });
  const images = tf.gather(result.images, chosen) as Tensor4D;
  const generated = result.generated === result.images ? images : (tf.gather(result.generated, chosen) as Tensor4D);
  const h = tf.gather(result.h, chosen);
  result.dispose();
  const pick = (data: Float32Array, per: number) => {
    const out = new Float32Array(n * per);
    for (const [i, c] of chosen.entries()) out.set(data.subarray(c * per, (c + 1) * per), i * per);
    return out;
  };
  const frames = result.frames.map((f) => {
    const [, height, width, channels] = f.shape;
    const hSize = f.h ? f.h.length / (n * restarts) : 0;
    return {
      ...f,
      shape: [n, height, width, channels] as [number, number, number, number],
      images: pick(f.images, height * width * channels),
      h: f.h ? pick(f.h, hSize) : undefined,
      hShape: f.hShape ? [n, ...f.hShape.slice(1)] : undefined,
    };
  });
  return {
    ...result,
    images,
    generated,
    h,
    logProb: chosen.map((c) => logProb[c]!),
    frames,
    settings: { ...result.settings, batch: n },
    dispose() {
      tf.dispose(generated === images ? [images, h] : [images, generated, h]);
    },
  };
}

/** What the attribute evaluator reads in images for one caption. */
export interface CaptionEvaluation {
  caption: string;
  parsed: ParsedCaption;
  /** Fraction of images agreeing with every attribute, and with each attribute alone. */
  rates: Record<keyof CaptionAgreement, number>;
  perImage: CaptionAgreement[];
  predicted: PredictedObject[][];
}

/** Checks images against every attribute of a caption with the entry's attribute evaluator. */
export function evaluateCaption(zoo: ZooEntry, caption: string | ParsedCaption, images: Tensor4D): CaptionEvaluation {
  const parts = captionParts(zoo);
  if (!parts.attributeEvaluator) throw new Error(`zoo '${zoo.name}': evaluating captions needs the 'attribute-evaluator' part`);
  const parsed = typeof caption === 'string' ? parseShapesCaption(caption) : caption;
  const predicted = predictObjects(parts.attributeEvaluator, images);
  const perImage = predicted.map((p) => captionAgreement(parsed, p));
  return {
    caption: formatShapesCaption(parsed),
    parsed,
    rates: agreementRates(perImage),
    perImage,
    predicted,
  };
}
