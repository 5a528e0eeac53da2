/**
 * The PPGN sampler (MALA-approx), batched.
 *
 * Cost per step: one forward pass of G and one backward pass through G for all chains,
 * however many x-space terms there are. Inside one `tf.grad` over h:
 *   1. x = G(h) is computed on the tape;
 *   2. a detached copy of x (see `detach`) feeds every x-space term: the condition's
 *      gradient d log p(y | x) / dx from a nested `tf.grad` over the condition alone (through
 *      the inpainting composite, so only the hole drives it), the x-space prior's direction,
 *      the context term and x-space user terms, each weighted;
 *   3. the differentiated scalar is the surrogate sum(g_x * x) with g_x the weighted sum of
 *      those directions. Its gradient w.r.t. h is J_G(h)^T g_x: one vector-Jacobian product
 *      through G. The nested work is on the tape but not on any path from h, so the backward
 *      pass prunes it (no second-order terms, no second pass through the condition).
 * h-space terms (a DAE or joint prior on h, noise, h-space user terms) are evaluated at h
 * with x = G(h) passed in, after that pass, with no further use of G.
 * The trace gets each term's weighted size in its own space from the same tensors; the
 * h-space size of an individual x-space term needs its own pull-back, so it is exact when
 * there is one x-space term (it is the pulled total) and costs one extra G pass per term
 * with `exactTermTrace`.
 * All per-step numbers (log p, term sizes, step sizes and a per-chain sum of h that catches
 * NaN) are concatenated and read back once per step.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor1D, Tensor4D } from '@tensorflow/tfjs-core';
import { type Condition, type Encoder, type Generator, type Prior, type Rng, createRng, shapeToString, withLazyLayerGradients } from '@ppgn/core';
import { detach } from './detach.js';
import { type InpaintOptions, type InpaintState, composite, disposeInpaint, prepareInpaint, startImage } from './inpaint.js';
import {
  DEFAULT_SETTINGS,
  type ResetOptions,
  type SamplerSettings,
  VARIANTS,
  type VariantName,
  type VariantPreset,
  learningRateAt,
} from './settings.js';
import type { SamplerTerm, TermState } from './terms.js';

/** From step `fromStep` (0-based) on, the chain follows `condition`. */
export interface ConditionChange {
  fromStep: number;
  condition: Condition;
}

/**
 * A condition that changes mid-chain: `[{ fromStep: 0, condition: a }, { fromStep: 100, condition: b }]`
 * samples class a for 100 steps, then morphs towards b. Steps before the first entry have no condition.
 */
export type ConditionSchedule = readonly ConditionChange[];

/** Draws the starting codes: `shape` is [batch, ...latentShape]; use `rng` for reproducibility. */
export type InitFn = (rng: Rng, shape: number[]) => Tensor;

/** Start from the codes of real images, h = E(images). `images` has batch 1 (repeated) or `batch`. */
export interface EncoderInit {
  encoder: Encoder;
  images: Tensor4D;
}

/**
 * Where chains start: codes ([batch, ...latent] or one code [...latent] / [1, ...latent],
 * repeated), the codes of real images, or a function. Default h ~ N(0, 1) from the seed.
 */
export type SamplerInit = Tensor | EncoderInit | InitFn;

/** Everything `sample` takes. Any field of `SamplerSettings` overrides the variant's value. */
export interface SampleOptions extends Partial<SamplerSettings> {
  /** G: maps h to images. */
  generator: Generator;
  /** What to sample for: a Condition, or a schedule that switches condition mid-chain. */
  condition?: Condition | ConditionSchedule;
  /** The prior term (weight eps1), in space 'h' or 'x'. */
  prior?: Prior;
  /** A named variant (its settings and its prior check) or your own preset object. */
  variant?: VariantName | VariantPreset;
  /** Number of chains, run together in one forward and one backward pass per step. */
  batch: number;
  /** Seed for everything random (start codes, noise, resets): same seed, same chain. */
  seed: number;
  /** Extra terms of the update. */
  terms?: readonly SamplerTerm[];
  /** Start codes; see `SamplerInit`. */
  init?: SamplerInit;
  /** Re-draw h (and optionally eps1) every K steps. */
  reset?: ResetOptions;
  /** Fill the hole of a real image. */
  inpaint?: InpaintOptions;
  /** Called after every step (awaited by `sample`). */
  onStep?: (info: StepInfo) => void | Promise<void>;
  /** Keep the per-step trace in the result. Default true (the numbers are computed anyway). */
  keepTrace?: boolean;
  /**
   * Report the h-space size of every x-space term exactly, at the cost of one extra
   * forward + backward of G per x-space term per step. Default false: with one x-space term
   * its h-space size is the pulled-back total, with several only their x-space sizes are given.
   */
  exactTermTrace?: boolean;
  /** Save h in frames too. Default false. */
  saveH?: boolean;
  /** `sample` yields to the event loop every this many steps (0: never). Default 1. */
  yieldEvery?: number;
  /** Stops `sample` between steps. */
  signal?: AbortSignal;
}

/**
 * Lets other tasks run (a page's rendering and input, Node's I/O): setImmediate in Node, a
 * MessageChannel message in browsers (a timeout there waits at least 4 ms once nested).
 */
function nextTask(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  if (typeof MessageChannel === 'function') {
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      // the browser's MessagePort (Node's types describe Node's)
      (channel.port1 as unknown as { onmessage: () => void }).onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Size of a term per chain: Euclidean norm and mean absolute value over its dimensions. */
export interface TermSize {
  l2: number[];
  meanAbs: number[];
}

/** One term's weighted contribution at one step. */
export interface TermTrace extends TermSize {
  name: string;
  description: string;
  /** Where the term lives and where `l2` / `meanAbs` are measured. */
  space: 'h' | 'x';
  /** For an x-space term: its size after the pull-back into h, when known (see `exactTermTrace`). */
  h?: TermSize;
}

/** What happened at one step. */
export interface StepTrace {
  /** 0-based step index. */
  step: number;
  /** Id of the condition followed at this step (null when none). */
  conditionId: string | null;
  /** log p(y | x) per chain at the start of the step (x = G(h) before the update). */
  logProb: number[] | null;
  /** Learning rate of the step. */
  lr: number;
  /** The factor d was multiplied by, per chain: lr / mean(|d|) (normalised) or lr (plain). */
  stepSize: number[];
  /** eps1 per chain (differs between chains after resets with an eps1 range). */
  eps1: number[];
  /** Each term's weighted contribution. */
  terms: TermTrace[];
  /** The x-space terms pulled back into h through G together (null when there are none). */
  pulled: TermSize | null;
  /** d, the summed direction in h. */
  total: TermSize;
  /** True when h was re-drawn before this step. */
  reset: boolean;
}

/** Progress callback argument. */
export interface StepInfo {
  /** 0-based index of the step just done. */
  step: number;
  steps: number;
  trace: StepTrace;
}

/** A saved state of the chains, read back to the CPU (frames never hold tensors). */
export interface Frame {
  /** Number of updates done before this frame (0 = the start, `steps` = the end). */
  step: number;
  /** [batch, H, W, C] */
  shape: [number, number, number, number];
  /** The images the condition saw (the composite when inpainting), NHWC, in [0, 1]. */
  images: Float32Array;
  /** h, when `saveH` is set. */
  h?: Float32Array;
  hShape?: number[];
}

/** The settings a run used, with the variant and its prior expectation. */
export interface ResolvedSettings extends SamplerSettings {
  variant: string | null;
  conditionObjective: 'logit' | 'log-prob' | null;
  batch: number;
  seed: number;
}

/** What `sample` returns. The tensors belong to the caller: call `dispose()` when done. */
export interface SampleResult {
  /** Final images [batch, H, W, C]: G(h), or the composite when inpainting. */
  images: Tensor4D;
  /** G(h) of the final h (the same tensor as `images` unless inpainting). */
  generated: Tensor4D;
  /** Final codes [batch, ...latentShape]. */
  h: Tensor;
  /** log p(y | images) per chain under the last condition (null without one). */
  logProb: number[] | null;
  /** A frame every `saveEvery` steps, plus the end when it falls on the grid. */
  frames: Frame[];
  /** One entry per step (empty when `keepTrace` is false). */
  trace: StepTrace[];
  settings: ResolvedSettings;
  /** Frees images, generated and h. */
  dispose(): void;
}

/** h became NaN or infinite: the chain stops, naming the step, the chain and the culprit terms. */
export class NonFiniteError extends Error {
  constructor(
    message: string,
    /** 0-based step after which h was not finite. */
    readonly step: number,
    /** First chain with a non-finite h. */
    readonly chain: number,
    /** Terms whose size was not finite in that chain. */
    readonly terms: string[],
  ) {
    super(message);
    this.name = 'NonFiniteError';
  }
}

const SETTING_KEYS = [
  'eps1',
  'eps2',
  'eps3',
  'eps4',
  'lr',
  'lrEnd',
  'lrSchedule',
  'steps',
  'saveEvery',
  'stepMode',
  'clip',
  'decay',
] as const satisfies readonly (keyof SamplerSettings)[];

const RESERVED_TERMS = ['prior', 'condition', 'noise', 'context'];

function isSchedule(c: Condition | ConditionSchedule): c is ConditionSchedule {
  return Array.isArray(c);
}

function isEncoderInit(init: SamplerInit): init is EncoderInit {
  return typeof init === 'object' && init !== null && 'encoder' in init && 'images' in init;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function shapeList(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

function checkFinite(name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`sample: ${name} is ${String(v)}, expected a finite number`);
}

function checkInt(name: string, v: unknown, min: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new Error(`sample: ${name} is ${String(v)}, expected an integer >= ${min}`);
  }
}

/** Merges DEFAULT_SETTINGS (or the variant's) with the caller's overrides and checks every number. */
export function resolveSettings(options: Partial<SamplerSettings> & { variant?: VariantName | VariantPreset }): {
  settings: SamplerSettings;
  variant: VariantPreset | null;
} {
  let variant: VariantPreset | null = null;
  if (options.variant !== undefined) {
    const v = typeof options.variant === 'string' ? (VARIANTS as Record<string, VariantPreset>)[options.variant] : options.variant;
    if (v === undefined) {
      throw new Error(`sample: unknown variant '${String(options.variant)}', expected one of ${Object.keys(VARIANTS).join(', ')}`);
    }
    variant = v;
  }
  const base = variant ?? DEFAULT_SETTINGS;
  const settings = {} as Record<string, unknown>;
  for (const key of SETTING_KEYS) {
    settings[key] = options[key] !== undefined ? options[key] : base[key];
  }
  const s = settings as unknown as SamplerSettings;
  for (const k of ['eps1', 'eps2', 'eps3', 'eps4', 'lr', 'decay'] as const) checkFinite(k, s[k]);
  if (s.lrEnd !== undefined) checkFinite('lrEnd', s.lrEnd);
  if (s.eps3 < 0) throw new Error(`sample: eps3 is ${s.eps3}, expected a standard deviation >= 0`);
  if (s.decay < 0 || s.decay >= 1) throw new Error(`sample: decay is ${s.decay}, expected 0 <= decay < 1 (h *= 1 - decay)`);
  checkInt('steps', s.steps, 0);
  checkInt('saveEvery', s.saveEvery, 0);
  if (s.stepMode !== 'normalised' && s.stepMode !== 'plain') {
    throw new Error(`sample: stepMode is '${String(s.stepMode)}', expected 'normalised' or 'plain'`);
  }
  if (typeof s.lrSchedule !== 'function' && !['constant', 'linear', 'exponential'].includes(s.lrSchedule)) {
    throw new Error(`sample: unknown lrSchedule '${String(s.lrSchedule)}', expected constant, linear, exponential or a function`);
  }
  if (s.lrSchedule === 'exponential' && !(s.lr * (s.lrEnd ?? s.lr) > 0)) {
    throw new Error(`sample: an exponential lrSchedule needs lr and lrEnd of the same sign and non-zero, got ${s.lr} -> ${s.lrEnd}`);
  }
  if (s.clip !== null) {
    const [lo, hi] = s.clip;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi)) {
      throw new Error(`sample: clip is [${lo}, ${hi}], expected [low, high] with low <= high, or null`);
    }
  }
  return { settings: s, variant };
}

interface PartX {
  name: string;
  description: string;
  /** Weighted direction in x, already pulled through the composite. */
  g: Tensor;
}

interface PartH {
  name: string;
  description: string;
  g: Tensor;
}

const ORDER = (name: string): number => {
  const i = RESERVED_TERMS.indexOf(name);
  return i < 0 ? RESERVED_TERMS.length : i;
};

/**
 * One batch of chains: holds h and the random state, performs steps, builds the result.
 * `sample` and `sampleSync` drive it.
 */
class Chains {
  readonly settings: SamplerSettings;
  readonly variant: VariantPreset | null;
  private readonly generator: Generator;
  private readonly prior: Prior | undefined;
  private readonly terms: readonly SamplerTerm[];
  private readonly schedule: ConditionChange[];
  private readonly batch: number;
  private readonly rng: Rng;
  private readonly inpaint: InpaintState | null = null;
  private readonly reset: ResetOptions | undefined;
  private readonly exactTermTrace: boolean;
  private readonly saveH: boolean;
  private readonly latentShape: number[];
  private h: Tensor;
  private eps1: Float32Array;
  step = 0;
  readonly frames: Frame[] = [];

  constructor(private readonly options: SampleOptions) {
    const { generator, batch, seed } = options;
    if (!generator || !Array.isArray(generator.latentShape) || typeof generator.generate !== 'function') {
      throw new Error('sample: options.generator must be a Generator ({ latentShape, imageShape, generate })');
    }
    checkInt('batch', batch, 1);
    checkFinite('seed', seed);
    const { settings, variant } = resolveSettings(options);
    this.settings = settings;
    this.variant = variant;
    this.generator = generator;
    this.prior = options.prior;
    this.terms = options.terms ?? [];
    this.batch = batch;
    this.reset = options.reset;
    this.exactTermTrace = options.exactTermTrace ?? false;
    this.saveH = options.saveH ?? false;
    this.latentShape = [...generator.latentShape];
    this.schedule = this.validateConditions(options.condition);
    this.validatePrior();
    this.validateTerms();
    this.validateReset();
    this.rng = createRng(seed);
    this.eps1 = this.drawEps1();
    let h: Tensor | undefined;
    try {
      if (options.inpaint) this.inpaint = prepareInpaint(options.inpaint, generator, batch);
      h = this.initialCodes();
      this.checkInitialFinite(h);
      this.h = h;
    } catch (err) {
      if (h) h.dispose();
      if (this.inpaint) disposeInpaint(this.inpaint);
      throw err;
    }
  }

  // ---- validation -------------------------------------------------------------------------

  private validateConditions(c: Condition | ConditionSchedule | undefined): ConditionChange[] {
    if (c === undefined) return [];
    const schedule = isSchedule(c) ? [...c] : [{ fromStep: 0, condition: c }];
    if (isSchedule(c) && schedule.length === 0) throw new Error('sample: the condition schedule is empty');
    let last = -1;
    for (const [i, entry] of schedule.entries()) {
      checkInt(`condition[${i}].fromStep`, entry.fromStep, 0);
      if (entry.fromStep <= last) {
        throw new Error(`sample: condition schedule steps must increase, but entry ${i} starts at ${entry.fromStep} after ${last}`);
      }
      last = entry.fromStep;
      const cond = entry.condition;
      if (!cond || typeof cond.logProb !== 'function') {
        throw new Error(`sample: condition${isSchedule(c) ? `[${i}]` : ''} is not a Condition (it needs logProb(x))`);
      }
      const accepts = cond.imageShape;
      if (accepts !== undefined && !sameShape(accepts, this.generator.imageShape)) {
        throw new Error(
          `sample: generator ${this.generator.id} makes ${shapeToString(this.generator.imageShape)} images but condition ${cond.id} accepts ` +
            `${shapeToString(accepts)}; wrap the condition in an adapter that resizes / converts channels, or use a generator of that shape`,
        );
      }
    }
    return schedule;
  }

  private validatePrior(): void {
    const prior = this.prior;
    const v = this.variant;
    if (v) {
      if (v.prior === 'none' && prior) {
        throw new Error(
          `sample: variant ${v.name} takes no learned prior (it decays h by decay=${v.decay} instead) but prior ${prior.id} (space '${prior.space}') was given; ` +
            `drop the prior or use a variant built on one (ppgn-h, joint-ppgn-h, ppgn-x)`,
        );
      }
      if (v.prior !== 'none' && !prior) {
        throw new Error(`sample: variant ${v.name} needs a prior in space '${v.prior}' but none was given`);
      }
      if (v.prior !== 'none' && prior && prior.space !== v.prior) {
        throw new Error(
          `sample: variant ${v.name} expects a prior in space '${v.prior}' (${v.prior === 'x' ? 'a DAE on pixels' : 'a prior on the code h'}) ` +
            `but prior ${prior.id} is in space '${prior.space}'`,
        );
      }
    }
    if (!prior) return;
    if (prior.space !== 'h' && prior.space !== 'x') {
      throw new Error(`sample: prior ${prior.id} has space '${String(prior.space)}', expected 'h' or 'x'`);
    }
    const g = this.generator;
    const declared = prior as unknown as { latentShape?: number[]; codeShape?: number[]; imageShape?: number[] };
    const want = prior.space === 'h' ? this.latentShape : g.imageShape;
    const has = prior.space === 'h' ? (declared.latentShape ?? declared.codeShape) : declared.imageShape;
    const what = prior.space === 'h' ? 'latent codes' : 'images';
    if (Array.isArray(has) && !sameShape(has, want)) {
      throw new Error(
        `sample: prior ${prior.id} works on ${what} of shape ${shapeList(has)} but generator ${g.id} ${prior.space === 'h' ? 'takes latent codes' : 'makes images'} of shape ${shapeList(want)}`,
      );
    }
    // Probe with one zero code (cheap) so a mismatch surfaces here, not inside the first step.
    let out: number[];
    try {
      out = tf.tidy(() => {
        const h = tf.zeros([1, ...this.latentShape]);
        const x = tf.zeros([1, ...g.imageShape]) as Tensor4D;
        return prior.gradLogProb(h, x).shape;
      });
    } catch (err) {
      throw new Error(
        `sample: prior ${prior.id} (space '${prior.space}') fails on generator ${g.id}'s latent codes ${shapeList([1, ...this.latentShape])} / images ` +
          `${shapeList([1, ...g.imageShape])}: ${(err as Error).message}`,
      );
    }
    const expected = prior.space === 'h' ? [1, ...this.latentShape] : [1, ...g.imageShape];
    if (!sameShape(out, expected)) {
      throw new Error(
        `sample: prior ${prior.id} returns directions of shape ${shapeList(out.slice(1))} but generator ${g.id}'s ${prior.space === 'h' ? 'latent code' : 'image'} has shape ${shapeList(expected.slice(1))}`,
      );
    }
  }

  private validateTerms(): void {
    const seen = new Set<string>();
    for (const term of this.terms) {
      if (!term || typeof term.gradient !== 'function') throw new Error('sample: every term needs gradient(state)');
      if (RESERVED_TERMS.includes(term.name)) {
        throw new Error(`sample: term name '${term.name}' is taken by a built-in term (${RESERVED_TERMS.join(', ')})`);
      }
      if (seen.has(term.name)) throw new Error(`sample: two terms are named '${term.name}'`);
      seen.add(term.name);
      checkFinite(`weight of term '${term.name}'`, term.weight);
      if (term.space !== undefined && term.space !== 'h' && term.space !== 'x') {
        throw new Error(`sample: term '${term.name}' has space '${String(term.space)}', expected 'h' or 'x'`);
      }
    }
  }

  private validateReset(): void {
    const r = this.reset;
    if (!r) return;
    checkInt('reset.every', r.every, 1);
    if (r.eps1) {
      const [lo, hi] = r.eps1;
      if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi)) {
        throw new Error(`sample: reset.eps1 is [${lo}, ${hi}], expected [low, high] with low <= high`);
      }
      if (r.logUniform && !(lo > 0)) throw new Error(`sample: reset.logUniform needs reset.eps1 low > 0, got ${lo}`);
    }
  }

  // ---- state ------------------------------------------------------------------------------

  private drawEps1(): Float32Array {
    const out = new Float32Array(this.batch);
    const range = this.reset?.eps1;
    for (let i = 0; i < this.batch; i++) {
      if (!range) out[i] = this.settings.eps1;
      else if (this.reset?.logUniform) out[i] = Math.exp(Math.log(range[0]) + (Math.log(range[1]) - Math.log(range[0])) * this.rng.uniform());
      else out[i] = range[0] + (range[1] - range[0]) * this.rng.uniform();
    }
    return out;
  }

  private noiseCodes(): Tensor {
    const init = this.options.init;
    const shape = [this.batch, ...this.latentShape];
    if (typeof init === 'function') {
      const h = init(this.rng, shape);
      if (!sameShape(h.shape, shape)) {
        h.dispose();
        throw new Error(`sample: init function returned codes of shape ${shapeList(h.shape)} but generator ${this.generator.id} needs ${shapeList(shape)}`);
      }
      return tf.keep(tf.cast(h, 'float32'));
    }
    return tf.keep(this.rng.normalTensor(shape));
  }

  private initialCodes(): Tensor {
    const init = this.options.init;
    const g = this.generator;
    const B = this.batch;
    const shape = [B, ...this.latentShape];
    const toBatch = (h: Tensor, what: string): Tensor => {
      if (sameShape(h.shape, shape)) return tf.keep(tf.cast(h, 'float32'));
      if (sameShape(h.shape, this.latentShape) || sameShape(h.shape, [1, ...this.latentShape])) {
        return tf.keep(tf.tidy(() => tf.tile(tf.reshape(tf.cast(h, 'float32'), [1, ...this.latentShape]), [B, ...this.latentShape.map(() => 1)])));
      }
      throw new Error(
        `sample: ${what} has shape ${shapeList(h.shape)} but generator ${g.id} takes latent codes ${shapeList(this.latentShape)} ` +
          `(expected ${shapeList(shape)}, ${shapeList([1, ...this.latentShape])} or ${shapeList(this.latentShape)})`,
      );
    };
    const encode = (encoder: Encoder, images: Tensor4D, what: string): Tensor => {
      if (!sameShape(encoder.codeShape, this.latentShape)) {
        throw new Error(
          `sample: encoder ${encoder.id} makes codes of shape ${shapeList(encoder.codeShape)} but generator ${g.id} takes ${shapeList(this.latentShape)}`,
        );
      }
      if (images.rank !== 4 || !sameShape(images.shape.slice(1), encoder.imageShape)) {
        throw new Error(
          `sample: ${what} has shape ${shapeList(images.shape)} but encoder ${encoder.id} accepts ${shapeToString(encoder.imageShape)} images`,
        );
      }
      if (images.shape[0] !== 1 && images.shape[0] !== B) {
        throw new Error(`sample: ${what} has batch ${images.shape[0]} but the sampler runs ${B} chains (expected 1 or ${B})`);
      }
      const h = tf.tidy(() => encoder.encode(images));
      try {
        return toBatch(h, `encoder ${encoder.id}'s code`);
      } finally {
        h.dispose();
      }
    };
    if (init === undefined) {
      if (this.inpaint && this.options.inpaint?.encoder) {
        const start = startImage(this.inpaint, B);
        try {
          return encode(this.options.inpaint.encoder, start, 'the masked inpainting image');
        } finally {
          start.dispose();
        }
      }
      return this.noiseCodes();
    }
    if (typeof init === 'function') return this.noiseCodes();
    if (isEncoderInit(init)) return encode(init.encoder, init.images, 'init.images');
    if (init instanceof tf.Tensor) return toBatch(init, 'init');
    throw new Error('sample: init must be a Tensor of codes, { encoder, images } or a function (rng, shape) => Tensor');
  }

  private checkInitialFinite(h: Tensor): void {
    const ok = tf.tidy(() => tf.all(tf.isFinite(h)).dataSync()[0] === 1);
    if (!ok) throw new Error('sample: the starting codes h contain NaN or infinite values');
  }

  /** The condition followed at `step` (the last schedule entry with fromStep <= step). */
  conditionAt(step: number): Condition | null {
    let found: Condition | null = null;
    for (const entry of this.schedule) if (entry.fromStep <= step) found = entry.condition;
    return found;
  }

  private generate(h: Tensor): Tensor4D {
    const x = this.generator.generate(h);
    const want = [h.shape[0]!, ...this.generator.imageShape];
    if (!sameShape(x.shape, want)) {
      throw new Error(
        `sample: generator ${this.generator.id} returned images of shape ${shapeList(x.shape)} for codes ${shapeList(h.shape)}; it declares ${shapeToString(this.generator.imageShape)} (expected ${shapeList(want)})`,
      );
    }
    return x;
  }

  private logProb(cond: Condition, x: Tensor4D): Tensor1D {
    const lp = cond.logProb(x);
    if (!sameShape(lp.shape, [x.shape[0]])) {
      throw new Error(`sample: condition ${cond.id} returned log-probabilities of shape ${shapeList(lp.shape)} for ${x.shape[0]} images (expected [${x.shape[0]}])`);
    }
    return lp;
  }

  private view(generated: Tensor4D): Tensor4D {
    return this.inpaint ? composite(this.inpaint, generated) : generated;
  }

  /** Chain rule through the composite: only the hole of x reaches h. */
  private throughComposite(g: Tensor): Tensor {
    return this.inpaint ? tf.mul(g, this.inpaint.mask) : g;
  }

  private perChain(values: Float32Array, rank: number): Tensor {
    return tf.tensor(values, [this.batch, ...new Array(rank - 1).fill(1)]);
  }

  private checkDirection(g: Tensor, like: Tensor, who: string): void {
    if (!sameShape(g.shape, like.shape)) {
      throw new Error(`sample: ${who} returned a direction of shape ${shapeList(g.shape)} but expected ${shapeList(like.shape)}`);
    }
  }

  /**
   * The x-space terms at x (detached): the condition's gradient (through the composite),
   * the x-space prior, the context term and x-space user terms, each weighted.
   */
  private xSpaceParts(
    generated: Tensor4D,
    view: Tensor4D,
    h: Tensor,
    cond: Condition | null,
    keep: <T extends Tensor>(t: T) => T,
  ): { parts: PartX[]; logProb: Tensor1D | null } {
    const s = this.settings;
    const parts: PartX[] = [];
    let logProb: Tensor1D | null = null;
    if (cond) {
      if (s.eps2 !== 0) {
        const gradCond = tf.grad((xx: Tensor) => {
          const lp = this.logProb(cond, xx as Tensor4D);
          logProb = keep(lp);
          return tf.sum(lp);
        })(view);
        parts.push({ name: 'condition', description: `${s.eps2} x ${cond.describe()}`, g: tf.mul(this.throughComposite(gradCond), s.eps2) });
      } else {
        logProb = keep(this.logProb(cond, view));
      }
    }
    const prior = this.prior;
    if (prior && prior.space === 'x' && this.eps1.some((e) => e !== 0)) {
      const gp = prior.gradLogProb(h, view);
      this.checkDirection(gp, view, `prior ${prior.id}`);
      parts.push({
        name: 'prior',
        description: `eps1 x ${prior.describe()}`,
        g: tf.mul(this.throughComposite(gp), this.perChain(this.eps1, 4)),
      });
    }
    if (this.inpaint && s.eps4 !== 0) {
      // d/dx of -||(real - x) * (1 - mask)||^2 = 2 (real - x) (1 - mask)^2
      const g = tf.mul(tf.mul(tf.sub(this.inpaint.real, generated), this.inpaint.contextWeight), 2 * s.eps4);
      parts.push({ name: 'context', description: `${s.eps4} x -||(image - G(h)) * (1 - mask)||^2`, g });
    }
    for (const term of this.terms) {
      if (term.space !== 'x' || term.weight === 0) continue;
      const state: TermState = { h, x: view, generated, step: this.step };
      const g = term.gradient(state);
      this.checkDirection(g, view, `term '${term.name}'`);
      parts.push({ name: term.name, description: term.description, g: tf.mul(this.throughComposite(g), term.weight) });
    }
    for (const p of parts) keep(p.g);
    return { parts, logProb };
  }

  /** Re-draws h (and eps1) when a reset is due. */
  private maybeReset(): boolean {
    const r = this.reset;
    if (!r || this.step === 0 || this.step % r.every !== 0) return false;
    const fresh = this.noiseCodes();
    this.h.dispose();
    this.h = fresh;
    if (r.eps1) this.eps1 = this.drawEps1();
    return true;
  }

  /** One update of h for every chain. Synchronous; reads back one small vector. */
  runStep(): StepTrace {
    const s = this.settings;
    const B = this.batch;
    const t = this.step;
    const didReset = this.maybeReset();
    const cond = this.conditionAt(t);
    const lr = learningRateAt(s, t);
    if (!Number.isFinite(lr)) throw new Error(`sample: the learning rate at step ${t} is ${lr}`);
    const frameDue = s.saveEvery > 0 && t % s.saveEvery === 0;

    const scratch: Tensor[] = [];
    const keep = <T extends Tensor>(x: T): T => {
      tf.keep(x);
      scratch.push(x);
      return x;
    };
    // Row layout of the one vector read back per step (each row has B values).
    const rows: Tensor1D[] = [];
    const row = (x: Tensor1D): number => rows.push(x) - 1;
    const size = (x: Tensor): { l2: number; meanAbs: number } => {
      const flat = tf.reshape(x, [B, -1]);
      return { l2: row(tf.sqrt(tf.sum(tf.square(flat), 1)) as Tensor1D), meanAbs: row(tf.mean(tf.abs(flat), 1) as Tensor1D) };
    };
    type SizeRows = { l2: number; meanAbs: number };
    const termRows: Array<{ name: string; description: string; space: 'h' | 'x'; size: SizeRows; h?: SizeRows }> = [];
    let logProbRow = -1;
    let pulledRows: SizeRows | null = null;
    let stepRow = -1;
    let finiteRow = -1;
    let totalRows: SizeRows = { l2: -1, meanAbs: -1 };

    try {
      // Only gradients w.r.t. h (and x) are wanted: G's and C's weight gradients are never computed.
      const out = withLazyLayerGradients(() => tf.tidy(() => {
        const h = this.h;
        const userX = this.terms.some((term) => term.space === 'x' && term.weight !== 0);
        const priorX = this.prior?.space === 'x' && this.eps1.some((e) => e !== 0);
        const needPull = (cond !== null && s.eps2 !== 0) || priorX || (this.inpaint !== null && s.eps4 !== 0) || userX;

        let generated: Tensor4D;
        let view: Tensor4D;
        let logProb: Tensor1D | null = null;
        let xParts: PartX[] = [];
        let pulled: Tensor | null = null;
        if (needPull) {
          // One forward of G and one backward through G for the whole batch: the x-space
          // directions are computed from a detached copy of x inside the differentiated
          // function, then enter as constants in the surrogate sum(g_x * G(h)), whose
          // gradient w.r.t. h is J_G(h)^T g_x.
          const captured: { value?: { generated: Tensor4D; view: Tensor4D; parts: PartX[]; logProb: Tensor1D | null }; error?: unknown } = {};
          pulled = tf.grad((hh: Tensor) => {
            try {
              const x = this.generate(hh);
              const xd = keep(detach(x));
              const xv = keep(this.view(xd));
              const r = this.xSpaceParts(xd, xv, keep(detach(hh)), cond, keep);
              captured.value = { generated: xd, view: xv, ...r };
              const total = r.parts.length === 1 ? r.parts[0]!.g : tf.addN(r.parts.map((p) => p.g));
              return tf.sum(tf.mul(total, x));
            } catch (err) {
              // Finish the backward pass anyway (it frees what the tape saved), then rethrow.
              captured.error = err;
              return tf.sum(tf.mul(hh, 0));
            }
          })(h);
          if (captured.error !== undefined) throw captured.error;
          const c = captured.value!;
          generated = c.generated;
          view = c.view;
          logProb = c.logProb;
          xParts = c.parts;
        } else {
          generated = this.generate(h);
          view = this.view(generated);
          if (cond) logProb = this.logProb(cond, view);
        }

        const hParts: PartH[] = [];
        const prior = this.prior;
        if (prior && prior.space === 'h' && this.eps1.some((e) => e !== 0)) {
          const g = prior.gradLogProb(h, generated);
          this.checkDirection(g, h, `prior ${prior.id}`);
          hParts.push({ name: 'prior', description: `eps1 x ${prior.describe()}`, g: tf.mul(g, this.perChain(this.eps1, h.rank)) });
        }
        if (s.eps3 !== 0) {
          hParts.push({ name: 'noise', description: `N(0, ${s.eps3}^2)`, g: tf.mul(this.rng.normalTensor(h.shape), s.eps3) });
        }
        for (const term of this.terms) {
          if ((term.space ?? 'h') !== 'h' || term.weight === 0) continue;
          const g = term.gradient({ h, x: view, generated, step: t });
          this.checkDirection(g, h, `term '${term.name}'`);
          hParts.push({ name: term.name, description: term.description, g: tf.mul(g, term.weight) });
        }

        const pieces = [...hParts.map((p) => p.g), ...(pulled ? [pulled] : [])];
        const d = pieces.length === 0 ? tf.zerosLike(h) : pieces.length === 1 ? pieces[0]! : tf.addN(pieces);
        const flatD = tf.reshape(d, [B, -1]);
        const stepSize =
          s.stepMode === 'normalised'
            ? (tf.divNoNan(tf.fill([B], lr), tf.mean(tf.abs(flatD), 1)) as Tensor1D)
            : (tf.fill([B], lr) as Tensor1D);
        let hNew = tf.add(h, tf.mul(d, tf.reshape(stepSize, [B, ...new Array(h.rank - 1).fill(1)])));
        if (s.decay !== 0) hNew = tf.mul(hNew, 1 - s.decay);
        if (s.clip) hNew = tf.clipByValue(hNew, s.clip[0], s.clip[1]);

        // Trace rows.
        stepRow = row(stepSize);
        finiteRow = row(tf.sum(tf.reshape(hNew, [B, -1]), 1) as Tensor1D);
        if (logProb) logProbRow = row(logProb);
        const all: Array<{ name: string; description: string; space: 'h' | 'x'; g: Tensor }> = [
          ...hParts.map((p) => ({ ...p, space: 'h' as const })),
          ...xParts.map((p) => ({ ...p, space: 'x' as const })),
        ].sort((a, b) => ORDER(a.name) - ORDER(b.name));
        if (pulled) pulledRows = size(pulled);
        for (const p of all) {
          const entry: (typeof termRows)[number] = { name: p.name, description: p.description, space: p.space, size: size(p.g) };
          if (p.space === 'x') {
            if (xParts.length === 1) entry.h = pulledRows ?? undefined;
            else if (this.exactTermTrace) {
              const g = p.g;
              entry.h = size(tf.grad((hh: Tensor) => tf.sum(tf.mul(this.generate(hh), g)))(h));
            }
          }
          termRows.push(entry);
        }
        totalRows = size(d);
        const kept = [tf.keep(hNew), tf.concat(rows)];
        if (frameDue) kept.push(tf.keep(tf.clone(view)));
        return kept;
      }));
      const [hNew, stats, frameView] = out as [Tensor, Tensor1D, Tensor4D | undefined];

      const data = stats.dataSync();
      stats.dispose();
      const read = (r: number): number[] => Array.from(data.subarray(r * B, (r + 1) * B));
      const readSize = (r: SizeRows): { l2: number[]; meanAbs: number[] } => ({ l2: read(r.l2), meanAbs: read(r.meanAbs) });
      const trace: StepTrace = {
        step: t,
        conditionId: cond ? cond.id : null,
        logProb: logProbRow >= 0 ? read(logProbRow) : null,
        lr,
        stepSize: read(stepRow),
        eps1: Array.from(this.eps1),
        terms: termRows.map((e) => ({
          name: e.name,
          description: e.description,
          space: e.space,
          ...readSize(e.size),
          ...(e.h ? { h: readSize(e.h) } : {}),
        })),
        pulled: pulledRows ? readSize(pulledRows) : null,
        total: readSize(totalRows),
        reset: didReset,
      };

      const sums = read(finiteRow);
      const bad = sums.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        tf.dispose([hNew, ...(frameView ? [frameView] : [])]);
        const culprits = trace.terms.filter((e) => !Number.isFinite(e.l2[bad]!)).map((e) => e.name);
        const lp = trace.logProb ? `; log p(y|x) = ${trace.logProb[bad]}` : '';
        throw new NonFiniteError(
          `sample: h became NaN or infinite at step ${t} in chain ${bad}` +
            (culprits.length > 0 ? ` (non-finite terms: ${culprits.join(', ')})` : '') +
            `; step size ${trace.stepSize[bad]}${lp}`,
          t,
          bad,
          culprits,
        );
      }
      if (frameView) {
        this.frames.push(this.frame(t, frameView, this.h));
        frameView.dispose();
      }
      this.h.dispose();
      this.h = hNew;
      this.step = t + 1;
      return trace;
    } finally {
      tf.dispose(scratch);
    }
  }

  private frame(step: number, images: Tensor4D, h: Tensor): Frame {
    const f: Frame = {
      step,
      shape: images.shape as [number, number, number, number],
      images: (images.dataSync() as Float32Array).slice(),
    };
    if (this.saveH) {
      f.h = (h.dataSync() as Float32Array).slice();
      f.hShape = [...h.shape];
    }
    return f;
  }

  /** Final images (one more forward of G) and the result; hands h over to the caller. */
  finish(trace: StepTrace[]): SampleResult {
    const s = this.settings;
    const T = this.step;
    const cond = this.conditionAt(Math.max(0, T - 1));
    const [generated, images, logProb] = tf.tidy(() => {
      const g = this.generate(this.h);
      const v = this.view(g);
      return cond ? [g, v, this.logProb(cond, v)] : [g, v];
    }) as [Tensor4D, Tensor4D, Tensor1D | undefined];
    if (s.saveEvery > 0 && T % s.saveEvery === 0) this.frames.push(this.frame(T, images, this.h));
    const lp = logProb ? Array.from(logProb.dataSync()) : null;
    logProb?.dispose();
    if (this.inpaint) disposeInpaint(this.inpaint);
    const h = this.h;
    const v = this.variant;
    return {
      images,
      generated,
      h,
      logProb: lp,
      frames: this.frames,
      trace,
      settings: {
        ...s,
        variant: v ? v.name : null,
        conditionObjective: v ? v.conditionObjective : null,
        batch: this.batch,
        seed: this.options.seed,
      },
      dispose() {
        tf.dispose([images, generated, h]);
      },
    };
  }

  /** Frees everything after a failure. */
  abandon(): void {
    this.h.dispose();
    if (this.inpaint) disposeInpaint(this.inpaint);
  }
}

/**
 * Runs PPGN chains (MALA-approx): each step, for every chain at once,
 *   d = eps1 * prior + eps2 * d log p(y | G(h)) / dh + N(0, eps3^2) + eps4 * context + sum(user terms)
 *   h += lr / mean(|d|) * d   (normalised, official)   or   h += lr * d   (plain),
 * then h *= 1 - decay and h is clipped when set. Every setting comes from the variant (or
 * DEFAULT_SETTINGS) and can be overridden. One forward and one backward pass of G per step.
 *
 * Validates everything before the first step (throws naming both sides of a mismatch),
 * stops with a NonFiniteError when h becomes NaN, and frees every tensor it makes except
 * the result's (call `result.dispose()`).
 *
 * @example
 * const r = await sample({ generator, condition, prior, variant: 'noiseless-joint-ppgn-h', batch: 4, seed: 1 });
 */
export async function sample(options: SampleOptions): Promise<SampleResult> {
  const chains = new Chains(options);
  const steps = chains.settings.steps;
  const keepTrace = options.keepTrace ?? true;
  const yieldEvery = options.yieldEvery ?? 1;
  const trace: StepTrace[] = [];
  try {
    for (let t = 0; t < steps; t++) {
      options.signal?.throwIfAborted();
      const entry = chains.runStep();
      if (keepTrace) trace.push(entry);
      if (options.onStep) await options.onStep({ step: t, steps, trace: entry });
      if (yieldEvery > 0 && (t + 1) % yieldEvery === 0) await nextTask();
    }
    options.signal?.throwIfAborted();
  } catch (err) {
    chains.abandon();
    throw err;
  }
  return chains.finish(trace);
}

/**
 * The same chains as `sample`, run synchronously (no yielding; `onStep` is called but not
 * awaited). Same seed, same result as `sample`.
 */
export function sampleSync(options: SampleOptions): SampleResult {
  const chains = new Chains(options);
  const steps = chains.settings.steps;
  const keepTrace = options.keepTrace ?? true;
  const trace: StepTrace[] = [];
  try {
    for (let t = 0; t < steps; t++) {
      options.signal?.throwIfAborted();
      const entry = chains.runStep();
      if (keepTrace) trace.push(entry);
      if (options.onStep) void options.onStep({ step: t, steps, trace: entry });
    }
  } catch (err) {
    chains.abandon();
    throw err;
  }
  return chains.finish(trace);
}
