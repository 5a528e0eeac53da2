/**
 * Training one pyramid level on its own (levels do not depend on each other's networks,
 * only on the data, so they can train one after another or in separate processes).
 *
 * Each step, on a batch of real images I with classes y:
 * - base level: real x = scale(I, s_0); fake = G_0(z, y), z ~ U(-1, 1).
 * - finer level (C -> F): real x = scale(I, F), l = u(scale(I, C), F); fake = l + G(z, y, l)
 *   with a noise plane z ~ U(-1, 1): fakes are conditioned on the real (l, y) pairs.
 * - D step: BCE on logits, D(real) -> 1 and D(fake) -> 0 (D sees both every step);
 *   the reported D loss is the sum of the two (2 ln 2 ~ 1.386 for a D that cannot tell).
 * - G step: the non-saturating loss BCE(D(fake), 1), same batch and noise, after D's update.
 * - Optional gating (the reference LSUN trick): per batch, update only D when
 *   errFake > errReal + margin or errReal > realThreshold, else only G.
 * Images are in [-1, 1] inside (see networks.ts).
 *
 * `trainLevel` runs on core's resumable training loop: checkpoints (networks, optimizer
 * state, step) are written atomically, randomness (noise, dropout masks) comes from the
 * loop's per-step streams and the batch order from (seed, level, step), so a run resumed
 * from a checkpoint continues exactly as if it had never stopped; a non-finite loss stops
 * training with core's `NonFiniteLossError` (naming the step and the last good checkpoint)
 * before that step's update is applied or anything is saved.
 */
import { minimizeStep, type Progress, type Rng, runTraining, stepRng, type TrainingOptimizer } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { BatchOrder, type ImageSet, type TrainingImages, toImageSet } from './data.js';
import { createLevel, levelSeed, type PyramidLevel } from './level.js';
import { discriminate, generateBase, generateResidual, type LevelNets, netClasses } from './networks.js';
import { createOptimizer, type OptimizerOptions, type ResolvedOptimizer, resolveOptimizer } from './optimizer.js';
import { resize, upsample } from './resize.js';
import { oneHot } from './sample.js';
import { streamRng } from './seeds.js';
import { describeSpec, type LevelSpec, levelSpecs, type PyramidConfig } from './spec.js';

export interface GatingOptions {
  /** Update only D when errFake > errReal + margin. Default 0.3. */
  margin?: number;
  /** Update only D when errReal > realThreshold. Default 0.7. */
  realThreshold?: number;
}

/** What a step updates: both nets (the default), only D, or only G. */
export type UpdateMode = 'both' | 'd' | 'g';

export interface TrainerSettings {
  /** Index of the level in its pyramid (names the random streams). */
  levelIndex: number;
  batchSize: number;
  seed: number;
  optimizer: ResolvedOptimizer;
  gating: Required<GatingOptions> | null;
  update: UpdateMode;
}

export interface StepStats {
  /** Steps completed, counting this one. */
  step: number;
  /** D's loss on real plus fake (mean over classes for per-class levels). */
  dLoss: number;
  dReal: number;
  dFake: number;
  /** G's non-saturating loss. */
  gLoss: number;
  /** Which networks this step updated ('both' also when the pairs of a per-class level differed). */
  updated: 'both' | 'd' | 'g';
}

/** Loss curves of a run, one entry per step. */
export interface TrainingHistory {
  dLoss: number[];
  dReal: number[];
  dFake: number[];
  gLoss: number[];
}

/** mean(BCE(sigmoid(logits), target)) computed stably from logits. */
function bce(logits: Tensor, target: 0 | 1): Scalar {
  return tf.tidy(() => {
    const relu = tf.relu(logits);
    const softplus = tf.log1p(tf.exp(tf.neg(tf.abs(logits))));
    return tf.mean(target === 1 ? tf.add(tf.sub(relu, logits), softplus) : tf.add(relu, softplus)) as Scalar;
  });
}

interface PairState {
  nets: LevelNets;
  g: TrainingOptimizer;
  d: TrainingOptimizer;
  order: BatchOrder;
  /** Class of a per-class pair (null: shared pair). */
  classIndex: number | null;
}

/**
 * Trains one level step by step (the engine behind `trainLevel`, usable on its own). Owns
 * its optimizers; the level's networks belong to whoever made the level.
 */
export class LevelTrainer {
  /** Steps completed by `trainStep` (`stepAt` leaves it alone). */
  step = 0;
  /** Losses of every step run by this trainer. */
  readonly history: TrainingHistory = { dLoss: [], dReal: [], dFake: [], gLoss: [] };
  /** The networks by checkpoint name: `g`, `d`, or `class-<c>/g`, `class-<c>/d` (the layout `saveLevel` writes). */
  readonly models: Record<string, LayersModel> = {};
  /** Their optimizers, by the same names. */
  readonly optimizers: Record<string, TrainingOptimizer> = {};
  private readonly pairs: PairState[];
  private readonly labels: Int32Array | null;
  /** How errors and the progress display name this level. */
  readonly who: string;

  constructor(
    readonly level: PyramidLevel,
    readonly data: ImageSet,
    readonly settings: TrainerSettings,
  ) {
    const spec = level.spec;
    const where = `trainLevel: level ${settings.levelIndex} (${describeSpec(spec)})`;
    this.who = where;
    if (!level.hasDiscriminators) throw new Error(`${where}: the level has no discriminators to train with`);
    if (!Number.isInteger(settings.batchSize) || settings.batchSize <= 0) {
      throw new Error(`${where}: batchSize must be a positive integer, got ${settings.batchSize}`);
    }
    if (!['both', 'd', 'g'].includes(settings.update)) {
      throw new Error(`${where}: update must be 'both', 'd' or 'g', got ${JSON.stringify(settings.update)}`);
    }
    if (data.size <= 0) throw new Error(`${where}: the training data is empty`);
    if (spec.numClasses > 0) {
      if (data.labels === undefined) throw new Error(`${where}: the level is conditional (${spec.numClasses} classes) but the data has no labels`);
      this.labels = Int32Array.from(data.labels as ArrayLike<number>);
      const bad = this.labels.findIndex((c) => c < 0 || c >= spec.numClasses);
      if (bad >= 0) throw new Error(`${where}: label ${this.labels[bad]} of image ${bad} is outside 0..${spec.numClasses - 1}`);
    } else {
      this.labels = null;
    }
    const all = Array.from({ length: data.size }, (_, i) => i);
    const pools = level.nets.map((_, c) => (spec.perClass ? all.filter((i) => this.labels![i] === c) : all));
    const empty = pools.findIndex((p) => p.length === 0);
    if (empty >= 0) throw new Error(`${where}: no training images of class ${empty}`);
    this.pairs = level.nets.map((nets, c) => {
      const classIndex = spec.perClass ? c : null;
      const prefix = classIndex === null ? '' : `class-${classIndex}/`;
      const g = createOptimizer(nets.g, settings.optimizer);
      const d = createOptimizer(nets.d!, settings.optimizer);
      this.models[`${prefix}g`] = nets.g;
      this.models[`${prefix}d`] = nets.d!;
      this.optimizers[`${prefix}g`] = g;
      this.optimizers[`${prefix}d`] = d;
      const order = new BatchOrder(pools[c]!, streamRng(settings.seed, settings.levelIndex, c).int(2 ** 31 - 1));
      return { nets, g, d, order, classIndex };
    });
  }

  /** Runs the next step (index `this.step`, with the same random stream `trainLevel` uses) and advances. */
  trainStep(): StepStats {
    const stats = this.stepAt(this.step, stepRng(this.settings.seed, this.step));
    this.step += 1;
    return stats;
  }

  /**
   * Runs step `step` (0-based: it picks the batch) drawing noise and dropout masks from
   * `rng`; one update per class pair for per-class levels. Throws core's
   * `NonFiniteLossError` before an update when a loss is not finite.
   */
  stepAt(step: number, rng: Rng): StepStats {
    const stats = this.pairs.map((pair) => this.pairStep(pair, step, rng.fork()));
    const mean = (f: (s: Omit<StepStats, 'step'>) => number) => stats.reduce((a, s) => a + f(s), 0) / stats.length;
    const result: StepStats = {
      step: step + 1,
      dLoss: mean((s) => s.dLoss),
      dReal: mean((s) => s.dReal),
      dFake: mean((s) => s.dFake),
      gLoss: mean((s) => s.gLoss),
      updated: stats.every((s) => s.updated === stats[0]!.updated) ? stats[0]!.updated : 'both',
    };
    this.history.dLoss.push(result.dLoss);
    this.history.dReal.push(result.dReal);
    this.history.dFake.push(result.dFake);
    this.history.gLoss.push(result.gLoss);
    return result;
  }

  private pairStep(pair: PairState, step: number, rng: Rng): Omit<StepStats, 'step'> {
    const spec = this.level.spec;
    const { batchSize, update } = this.settings;
    const indices = pair.order.indices(step, batchSize);
    const dRealRng = rng.fork();
    const dFakeRng = rng.fork();
    const gRng = rng.fork();
    const k = netClasses(spec);
    const who = pair.classIndex === null ? this.who : `${this.who}, class ${pair.classIndex}`;

    const images = this.data.images(indices);
    const toInternal = (x: Tensor4D) => tf.sub(tf.mul(x, 2), 1) as Tensor4D;
    let real: Tensor4D;
    let coarse: Tensor4D | null = null;
    try {
      if (images.rank !== 4 || images.shape[0] !== batchSize || images.shape[3] !== spec.channels) {
        throw new Error(`${who}: the data gave images of shape [${images.shape.join(', ')}], expected [${batchSize}, H, W, ${spec.channels}]`);
      }
      real = tf.tidy(() => toInternal(resize(images, spec.size)));
      if (spec.kind === 'refine') coarse = tf.tidy(() => toInternal(upsample(resize(images, spec.inputSize), spec.size)));
    } finally {
      images.dispose();
    }
    const onehot = k > 0 ? oneHot(Array.from(indices, (i) => this.labels![i]!), k) : null;
    const noise =
      spec.kind === 'base'
        ? rng.uniformTensor([batchSize, spec.noiseDim], -1, 1)
        : rng.uniformTensor([batchSize, spec.size, spec.size, 1], -1, 1);
    const { g, d } = pair.nets;
    const dNet = d!;
    const fakeOf = (): Tensor4D =>
      spec.kind === 'base'
        ? generateBase(spec, g, noise as Tensor2D, onehot)
        : (tf.add(coarse!, generateResidual(spec, g, noise as Tensor4D, onehot, coarse!)) as Tensor4D);

    let fake: Tensor4D | null = null;
    try {
      fake = tf.tidy(fakeOf);
      const fakeImages = fake;
      let updated: StepStats['updated'] = update;
      const dStep = minimizeStep(
        {
          optimizer: pair.d,
          loss: () => {
            const dReal = bce(discriminate(spec, dNet, real, coarse, onehot, dRealRng), 1);
            const dFake = bce(discriminate(spec, dNet, fakeImages, coarse, onehot, dFakeRng), 0);
            return { loss: tf.add(dReal, dFake) as Scalar, report: { dReal, dFake } };
          },
          name: 'dLoss',
          // G-only steps still report how D scores the batch.
          update:
            update === 'g'
              ? false
              : (values) => {
                  const gating = this.settings.gating;
                  if (update === 'both' && gating !== null) {
                    updated = values.dFake! > values.dReal! + gating.margin || values.dReal! > gating.realThreshold ? 'd' : 'g';
                  }
                  return updated !== 'g';
                },
        },
        who,
        step,
      );
      const dReal = dStep.dReal!;
      const dFake = dStep.dFake!;
      // On D-only steps G's loss is computed forward only, for the record.
      const { gLoss } = minimizeStep(
        {
          optimizer: pair.g,
          loss: () => bce(discriminate(spec, dNet, fakeOf(), coarse, onehot, gRng), 1),
          name: 'gLoss',
          update: updated !== 'd',
        },
        who,
        step,
      );
      return { dLoss: dReal + dFake, dReal, dFake, gLoss: gLoss!, updated };
    } finally {
      tf.dispose([real, noise]);
      if (fake !== null) fake.dispose();
      if (coarse !== null) coarse.dispose();
      if (onehot !== null) onehot.dispose();
    }
  }

  /** Frees the optimizers (not the level). */
  dispose(): void {
    for (const p of this.pairs) {
      p.g.dispose();
      p.d.dispose();
    }
  }
}

export interface TrainLevelOptions {
  /** The pyramid the level belongs to. */
  config: PyramidConfig;
  /** Index of the level to train: 0 = base, k = refines sizes[k-1] -> sizes[k]. */
  level: number;
  data: TrainingImages;
  /** Total steps; a resumed run continues up to this count. */
  steps: number;
  /** Real images per step (D also sees as many fakes). Default 64. */
  batchSize?: number;
  /** Default Adam (lr 2e-4, beta1 0.5); 'sgd' is Torch-style SGD with momentum 0.7 (see optimizer.ts). */
  optimizer?: OptimizerOptions | 'adam' | 'sgd';
  /** Learning rate (overrides the optimizer's). */
  lr?: number;
  /** Seed of the initial weights, batch order, noise and dropout. Default 0. */
  seed?: number;
  /** Where checkpoints go (core's layout: step-<n>/ with g/, d/, optimizer and state); one already there is resumed. */
  checkpointDir?: string;
  /** Steps between checkpoints (one is also written after the last step). Default 100. */
  checkpointEvery?: number;
  /** Checkpoints kept on disk. Default 2. */
  keepCheckpoints?: number;
  /** A progress display, true for core's default one (to stderr), false for none. Default true. */
  progress?: Progress | boolean;
  /** The reference LSUN gating (true for margin 0.3, realThreshold 0.7). Default off. */
  gating?: boolean | GatingOptions;
  /** Update both nets (default), only D or only G. */
  update?: UpdateMode;
  /** Free text stored with the level (e.g. the data set's name). */
  source?: string;
  /** Called after every step. */
  onStep?: (stats: StepStats) => void;
}

export interface TrainLevelResult {
  /** The trained level (the caller disposes it). */
  level: PyramidLevel;
  levelIndex: number;
  /** Steps completed in total. */
  step: number;
  /** Step the run resumed from (null: started fresh). */
  resumedFrom: number | null;
  /** Losses of the steps run in this call. */
  history: TrainingHistory;
  /** The last checkpoint written, if any. */
  checkpoint: string | undefined;
  /** Mean wall time of the steps run in this call (NaN when none ran). */
  msPerStep: number;
}

function resolveGating(g: boolean | GatingOptions | undefined): Required<GatingOptions> | null {
  if (g === undefined || g === false) return null;
  const o = g === true ? {} : g;
  return { margin: o.margin ?? 0.3, realThreshold: o.realThreshold ?? 0.7 };
}

/** Resolves the spec and settings `trainLevel` would use. */
export function levelTrainingSetup(options: Omit<TrainLevelOptions, 'data' | 'steps'>): { spec: LevelSpec; settings: TrainerSettings } {
  const specs = levelSpecs(options.config);
  const spec = specs[options.level];
  if (!Number.isInteger(options.level) || spec === undefined) {
    throw new Error(`trainLevel: level ${options.level} does not exist (the pyramid has levels 0..${specs.length - 1})`);
  }
  const update = options.update ?? 'both';
  if (!['both', 'd', 'g'].includes(update)) throw new Error(`trainLevel: update must be 'both', 'd' or 'g', got ${JSON.stringify(update)}`);
  return {
    spec,
    settings: {
      levelIndex: options.level,
      batchSize: options.batchSize ?? 64,
      seed: options.seed ?? 0,
      optimizer: resolveOptimizer(options.optimizer, options.lr),
      gating: resolveGating(options.gating),
      update,
    },
  };
}

/**
 * Trains one level of the pyramid described by `config` for `steps` steps (in total,
 * counting the steps of a resumed checkpoint). Starts from fresh weights (the same ones
 * `createPyramid(config, { seed })` makes for that level) or from the newest checkpoint in
 * `checkpointDir` (made with the same spec and settings, else an error names the
 * difference). Returns the trained level; the caller disposes it.
 */
export async function trainLevel(options: TrainLevelOptions): Promise<TrainLevelResult> {
  const { spec, settings } = levelTrainingSetup(options);
  const data = toImageSet(options.data);
  const level = createLevel(spec, { seed: levelSeed(settings.seed, options.level) });
  let trainer: LevelTrainer;
  try {
    trainer = new LevelTrainer(level, data, settings);
  } catch (err) {
    level.dispose();
    throw err;
  }
  if (options.source !== undefined) level.info.source = options.source;
  const started = Date.now();
  try {
    const result = await runTraining<Record<string, never>>({
      who: trainer.who,
      steps: options.steps,
      seed: settings.seed,
      checkpointDir: options.checkpointDir,
      checkpointEvery: options.checkpointEvery ?? 100,
      keepCheckpoints: options.keepCheckpoints,
      progress: options.progress,
      models: trainer.models,
      optimizers: trainer.optimizers,
      state: {},
      fingerprint: { spec, ...settings },
      step: async (step, rng, state) => {
        const stats = trainer.stepAt(step, rng);
        level.info.steps = step + 1;
        options.onStep?.(stats);
        return { losses: { D: stats.dLoss, G: stats.gLoss }, state };
      },
    });
    level.info.steps = result.step;
    const ran = result.step - result.startStep;
    return {
      level,
      levelIndex: options.level,
      step: result.step,
      resumedFrom: result.startStep > 0 ? result.startStep : null,
      history: trainer.history,
      checkpoint: result.checkpoint,
      msPerStep: ran > 0 ? (Date.now() - started) / ran : Number.NaN,
    };
  } catch (err) {
    level.dispose();
    throw err;
  } finally {
    trainer.dispose();
  }
}
