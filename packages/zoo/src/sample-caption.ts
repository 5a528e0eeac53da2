import { PRESETS, type SampleResult, type SamplerSettings, sample } from '@ppgn/sampler';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { daePrior } from '@ppgn/priors';
import type { CaptionParts, ZooEntry } from './load.js';
import { type PredictedObject, predictObjects } from './shapes-attributes.js';
import { agreementRates, type CaptionAgreement, captionAgreement, formatShapesCaption, type ParsedCaption, parseShapesCaption } from './shapes-captions.js';

/** Variants that sample captions: G + the h-DAE on scene codes, or G alone. */
export const CAPTION_VARIANTS = ['ppgn-h', 'dgn-am'] as const;
export type CaptionVariant = (typeof CAPTION_VARIANTS)[number];

/** Options of `sampleCaption`. */
export interface SampleCaptionOptions {
  caption: string;
  /** Default 'ppgn-h'. */
  variant?: CaptionVariant;
  n: number;
  seed: number;
  /** Overrides of the entry's tuned caption settings. */
  settings?: Partial<SamplerSettings>;
  /** false: the same chains without the caption condition (the unconditioned baseline). Default true. */
  conditioned?: boolean;
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
  const variant = options.variant ?? 'ppgn-h';
  if (!(CAPTION_VARIANTS as readonly string[]).includes(variant)) {
    throw new Error(`sampleCaption: variant must be one of ${CAPTION_VARIANTS.join(', ')} (the scene generator has no joint version), got '${variant}'`);
  }
  if (variant === 'ppgn-h' && !parts.hDae) throw new Error(`zoo '${zoo.name}': caption sampling with ppgn-h needs the 'h-dae-scenes' part`);
  const condition = options.conditioned === false ? undefined : parts.condition(options.caption);
  const prior = variant === 'ppgn-h' ? daePrior({ dae: parts.hDae!, sigma: zoo.spec.hDaeSigma }) : undefined;
  const settings = { clip: zoo.spec.clip, ...PRESETS.caption, ...zoo.spec.sampler[`caption-${variant}`], ...options.settings };
  return sample({
    generator: parts.generator,
    prior,
    condition,
    variant,
    batch: options.n,
    seed: options.seed,
    ...settings,
    keepTrace: false,
    onStep: options.onStep ? (i) => options.onStep!({ step: i.step, steps: i.steps }) : undefined,
  });
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
