/**
 * Sampler settings, the five PPGN variants and the application presets. Every preset is a
 * plain object: spread it, override any field, pass the result to `sample`.
 */

/** How the learning rate moves from `lr` (first step) to `lrEnd` (last step). */
export type LrSchedule = 'constant' | 'linear' | 'exponential' | ((step: number, steps: number) => number);

/**
 * How a step turns the summed direction d into a move of h:
 * - 'normalised': h += lr / mean(|d|) * d, per chain (the official code: lr alone sets the
 *   mean move per dimension, whatever the scale of the terms).
 * - 'plain': h += lr * d (with lr = 1 this is the update as written in the paper,
 *   h += eps1 * prior + eps2 * condition + N(0, eps3^2)).
 */
export type StepMode = 'normalised' | 'plain';

/** The numbers that define a chain. All are overridable on every call. */
export interface SamplerSettings {
  /** eps1: weight of the prior term d log p(h) / dh. */
  eps1: number;
  /** eps2: weight of the condition term d log p(y | G(h)) / dh. */
  eps2: number;
  /** eps3: standard deviation of the Gaussian noise added to h each step. */
  eps3: number;
  /** eps4: weight of the inpainting context term (used only when inpainting). */
  eps4: number;
  /** Learning rate at the first step. */
  lr: number;
  /** Learning rate at the last step (`linear` / `exponential` schedules); defaults to `lr`. */
  lrEnd?: number;
  /** Learning-rate schedule; default 'constant'. */
  lrSchedule: LrSchedule;
  /** Number of updates of h. */
  steps: number;
  /** Save a frame (images, optionally h) every this many steps; 0 saves none. */
  saveEvery: number;
  /** Normalised (official) or plain step. */
  stepMode: StepMode;
  /** Clip h into [low, high] after each step (e.g. [0, 30] for post-ReLU codes); null: no clip. */
  clip: readonly [number, number] | null;
  /** L2 decay: h *= (1 - decay) after each step (DGN-AM uses 0.01, i.e. h *= 0.99). */
  decay: number;
}

/** Names of the five sampler variants compared in the PPGN paper. */
export type VariantName = 'dgn-am' | 'ppgn-x' | 'ppgn-h' | 'joint-ppgn-h' | 'noiseless-joint-ppgn-h';

/**
 * A variant: settings plus what it expects of the prior. `prior: 'none'` refuses a prior,
 * 'h' / 'x' require one in that space.
 */
export interface VariantPreset extends SamplerSettings {
  readonly name: VariantName;
  readonly description: string;
  /** The prior the variant is built on: none, a prior on h, or a prior on pixels. */
  readonly prior: 'none' | 'h' | 'x';
  /**
   * What the condition should score. DGN-AM maximises a raw logit ('logit'); the PPGN
   * variants use log p(y | x) ('log-prob'). A hint for whoever builds the condition: the
   * sampler itself cannot change a Condition.
   */
  readonly conditionObjective: 'logit' | 'log-prob';
}

/**
 * Defaults for a call that names no variant: the official class-sampling numbers
 * (eps1 1e-5, eps2 1, eps3 1e-17, lr 1, 200 steps, a frame every 5 steps, normalised step),
 * eps4 1e-9 (the official inpainting weight), no clipping and no decay (right for Gaussian
 * latents).
 */
export const DEFAULT_SETTINGS: Readonly<SamplerSettings> = Object.freeze({
  eps1: 1e-5,
  eps2: 1,
  eps3: 1e-17,
  eps4: 1e-9,
  lr: 1,
  lrSchedule: 'constant',
  steps: 200,
  saveEvery: 5,
  stepMode: 'normalised',
  clip: null,
  decay: 0,
});

/** The official fc6 setting: codes are post-ReLU and kept in [0, 30]. */
const OFFICIAL_CLIP: readonly [number, number] = Object.freeze([0, 30]) as readonly [number, number];

const official: SamplerSettings = { ...DEFAULT_SETTINGS, clip: OFFICIAL_CLIP };

/**
 * The five variants with the official defaults (tuned for 4096-d fc6 codes: eps1 1e-5,
 * eps2 1, eps3 1e-17, lr 1, 200 steps, a frame every 5 steps, h clipped to [0, 30]).
 * For Gaussian latents pass `clip: null`; for smaller codes eps1 usually needs raising.
 */
export const VARIANTS: Readonly<Record<VariantName, Readonly<VariantPreset>>> = Object.freeze({
  'dgn-am': Object.freeze({
    ...official,
    name: 'dgn-am',
    description: 'DGN-AM: no learned prior; L2 decay of h (h *= 0.99 per step), clip, raw logit maximised, no noise',
    prior: 'none',
    conditionObjective: 'logit',
    eps1: 0,
    eps3: 0,
    decay: 0.01,
  } as const),
  'ppgn-x': Object.freeze({
    ...official,
    name: 'ppgn-x',
    description: 'PPGN-x: a DAE on pixels, eps1 (R_x(x) - x) pushed back through G',
    prior: 'x',
    conditionObjective: 'log-prob',
  } as const),
  'ppgn-h': Object.freeze({
    ...official,
    name: 'ppgn-h',
    description: 'PPGN-h: a separate DAE on h, eps1 (R_h(h) - h)',
    prior: 'h',
    conditionObjective: 'log-prob',
  } as const),
  'joint-ppgn-h': Object.freeze({
    ...official,
    name: 'joint-ppgn-h',
    description: 'Joint PPGN-h: R_h(h) = E(G(h)), G and E trained jointly as a DAE on h',
    prior: 'h',
    conditionObjective: 'log-prob',
  } as const),
  'noiseless-joint-ppgn-h': Object.freeze({
    ...official,
    name: 'noiseless-joint-ppgn-h',
    description: 'Noiseless Joint PPGN-h: the joint prior with eps3 = 0',
    prior: 'h',
    conditionObjective: 'log-prob',
    eps3: 0,
  } as const),
});

/**
 * Official settings of the other applications, to spread over a variant:
 * `sample({ ...PRESETS.caption, variant: 'noiseless-joint-ppgn-h', ... })`.
 * - caption: eps1 1e-3, lr 1 -> 1e-10 (linear) over 200 steps.
 * - neuron: 1000 steps; with `NEURON_RESET` (reset every 100 steps, eps1 ~ U(1e-6, 1e-2)).
 * - inpainting: 20 steps, eps3 = 0, eps4 = 1e-9.
 * - abstract: eps1 1e-3 (a "more abstract style" of class samples).
 */
export const PRESETS = Object.freeze({
  caption: Object.freeze({ eps1: 1e-3, lr: 1, lrEnd: 1e-10, lrSchedule: 'linear', steps: 200 } as const),
  neuron: Object.freeze({ steps: 1000 } as const),
  inpainting: Object.freeze({ steps: 20, eps3: 0, eps4: 1e-9 } as const),
  abstract: Object.freeze({ eps1: 1e-3 } as const),
}) satisfies Record<string, Partial<SamplerSettings>>;

/**
 * Re-draws every K steps, for diversity (the neuron-visualisation setting): h is drawn
 * afresh and, when `eps1` is given, each chain draws its own eps1 from that range.
 */
export interface ResetOptions {
  /** Reset before steps K, 2K, ... (never before step 0). */
  every: number;
  /** Draw eps1 per chain uniformly from [low, high) at the start and at each reset. */
  eps1?: readonly [number, number];
  /** Draw from [low, high) on a log scale instead of uniformly. Default false. */
  logUniform?: boolean;
}

/** The official neuron-visualisation resets: every 100 steps, eps1 ~ U(1e-6, 1e-2). */
export const NEURON_RESET: Readonly<ResetOptions> = Object.freeze({ every: 100, eps1: [1e-6, 1e-2] as const });

/** Learning rate at step `step` (0-based) of `steps`; reaches `lrEnd` on the last step. */
export function learningRateAt(settings: Pick<SamplerSettings, 'lr' | 'lrEnd' | 'lrSchedule' | 'steps'>, step: number): number {
  const { lr, lrSchedule, steps } = settings;
  const lrEnd = settings.lrEnd ?? lr;
  if (typeof lrSchedule === 'function') return lrSchedule(step, steps);
  const f = steps > 1 ? step / (steps - 1) : 0;
  switch (lrSchedule) {
    case 'constant':
      return lr;
    case 'linear':
      return lr + (lrEnd - lr) * f;
    case 'exponential':
      return lr * (lrEnd / lr) ** f;
    default:
      throw new Error(`sample: unknown lrSchedule '${String(lrSchedule)}', expected constant, linear, exponential or a function`);
  }
}
