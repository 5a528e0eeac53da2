import { type SampleResult, type SamplerSettings, sample, VARIANTS } from '@ppgn/sampler';
import type { ZooEntry, ZooVariant } from './load.js';

/** Options of `sampleClass`. */
export interface SampleClassOptions {
  /** Class index or name. */
  classIndex: number | string;
  variant: ZooVariant;
  /** Number of chains (images). */
  n: number;
  seed: number;
  /** Overrides of the entry's tuned sampler settings (eps1, eps2, eps3, lr, steps, ...). */
  settings?: Partial<SamplerSettings>;
  /** Switch to this class at `switchAt` (a chain that morphs between classes). */
  switchTo?: number | string;
  switchAt?: number;
  onStep?: (info: { step: number; steps: number }) => void;
}

/**
 * Samples images of a class from a zoo entry with one of the five variants: wires the
 * variant's generator and prior, the class condition, and the entry's tuned settings.
 */
export async function sampleClass(zoo: ZooEntry, options: SampleClassOptions): Promise<SampleResult> {
  const parts = zoo.variant(options.variant);
  const preset = VARIANTS[options.variant];
  const objective = preset.conditionObjective === 'logit' ? 'logit' : zoo.spec.conditionObjective;
  const condition = (c: number | string) => zoo.classCondition(c, objective);
  const tuned = zoo.spec.sampler[options.variant] ?? {};
  const settings = { clip: zoo.spec.clip, ...tuned, ...options.settings };
  const first = condition(options.classIndex);
  const schedule =
    options.switchTo !== undefined
      ? [
          { fromStep: 0, condition: first },
          { fromStep: options.switchAt ?? Math.floor((settings.steps ?? preset.steps) / 2), condition: condition(options.switchTo) },
        ]
      : first;
  return sample({
    generator: parts.generator,
    prior: parts.prior,
    condition: schedule,
    variant: options.variant,
    batch: options.n,
    seed: options.seed,
    ...settings,
    keepTrace: false,
    onStep: options.onStep ? (i) => options.onStep!({ step: i.step, steps: i.steps }) : undefined,
  });
}
