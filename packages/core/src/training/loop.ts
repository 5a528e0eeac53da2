import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { createProgress, type Progress } from '../progress.js';
import { Rng } from '../rng.js';
import {
  type CheckpointRef,
  latestCheckpoint,
  loadOptimizerState,
  readCheckpointMeta,
  restoreModel,
  writeCheckpoint,
} from './checkpoint.js';
import { isTensor } from './data.js';
import type { TrainingOptimizer } from './optimizer.js';

/** Loss values of one step, by name (e.g. `{ total, image, feature }`). */
export type StepLosses = Record<string, number>;

/** What `onStep` receives after every step. */
export interface StepReport {
  /** Number of updates done (the step just finished is `step - 1` as a 0-based index). */
  step: number;
  steps: number;
  losses: StepLosses;
}

/**
 * Thrown when a loss or a gradient becomes NaN or infinite. Training stops before that
 * step's update is applied, so the models keep the weights of the last finite step, and no
 * checkpoint is written: the last one on disk stays the last good one.
 */
export class NonFiniteLossError extends Error {
  override readonly name = 'NonFiniteLossError';
  constructor(
    message: string,
    /** 0-based index of the failed step (= updates done before it). */
    readonly step: number,
    /** The step's loss values, including the non-finite one. */
    readonly losses: StepLosses,
    /** The last good checkpoint, when a checkpoint directory was given and one exists. */
    readonly checkpoint?: CheckpointRef,
  ) {
    super(message);
  }
}

/**
 * Throws a `NonFiniteLossError` (without checkpoint details; `runTraining` adds them) when
 * any value in `losses` is not finite.
 */
export function checkFinite(who: string, step: number, losses: StepLosses): void {
  for (const [name, value] of Object.entries(losses)) {
    if (!Number.isFinite(value)) {
      throw new NonFiniteLossError(`${who}: ${name} is ${value} at step ${step}`, step, losses);
    }
  }
}

/** A loss that also reports named scalars (loss terms, an accuracy): only `loss` is minimised. */
export interface ReportedLoss {
  loss: tf.Scalar;
  /** Scalars reported under their names, before the minimised value. */
  report: Record<string, tf.Scalar>;
}

/** One loss minimised by `minimizeStep`, over the variables of one or more optimizers. */
export interface StepObjective {
  /**
   * The optimizer updating the loss's variables; several share one gradient (one global
   * norm, one clip), each applying its own slice.
   */
  optimizer: TrainingOptimizer | readonly TrainingOptimizer[];
  /** The loss, alone or with further scalars to report (see `ReportedLoss`). */
  loss: () => tf.Scalar | ReportedLoss;
  /** Name the minimised value is reported under. Default `loss`. */
  name?: string;
  /** Report the global gradient norm (before clipping) under this name. */
  gradNorm?: string;
  /** Rescale the gradient to at most this global norm (Infinity: never). */
  clipNorm?: number;
  /**
   * Whether this objective updates its variables. `false`: the loss is only evaluated and
   * reported (a requested `gradNorm` reads 0); a function decides from all values of the
   * step, after they passed the finite check. Default true.
   */
  update?: boolean | ((values: StepLosses) => boolean);
}

/**
 * One update on a scalar loss: the gradients of `loss()` for the optimizer's variables, a
 * `checkFinite` check (nothing is applied when the loss is not finite), the update, and
 * every gradient freed. Returns the loss value.
 */
export function minimizeStep(optimizer: TrainingOptimizer, loss: () => tf.Scalar, who: string, step: number): number;
/**
 * One training step over one or more objectives: each loss is evaluated and differentiated
 * in order (a variable a loss does not reach gets a zero gradient), then every reported
 * value (extra scalars, losses, gradient norms) comes to the host in one read and passes
 * `checkFinite` before any update is applied, so a non-finite value leaves every model
 * untouched. Then each objective's gradient is clipped if asked and applied, in order.
 * All gradients and reported scalars are freed on every path. Returns the values by name.
 */
export function minimizeStep(objectives: StepObjective | readonly StepObjective[], who: string, step: number): StepLosses;
export function minimizeStep(
  first: TrainingOptimizer | StepObjective | readonly StepObjective[],
  second: (() => tf.Scalar) | string,
  third: string | number,
  fourth?: number,
): number | StepLosses {
  if (typeof second === 'function') {
    return runObjectives([{ optimizer: first as TrainingOptimizer, loss: second }], third as string, fourth!).loss!;
  }
  const objectives = Array.isArray(first) ? (first as readonly StepObjective[]) : [first as StepObjective];
  return runObjectives(objectives, second, third as number);
}

function runObjectives(objectives: readonly StepObjective[], who: string, step: number): StepLosses {
  // Every scalar to read, in report order; unnamed ones (a norm only needed to clip) are checked but not reported.
  const scalars: tf.Scalar[] = [];
  const labels: (string | undefined)[] = [];
  const checkNames: string[] = [];
  const owned: tf.Tensor[] = [];
  const record = (label: string | undefined, s: tf.Scalar, checkName = label!): number => {
    scalars.push(s);
    labels.push(label);
    checkNames.push(checkName);
    return scalars.length - 1;
  };
  // Checked after the forward pass, not inside it: a throw there would strand the tensors the tape saved.
  const validate = (from: number): void => {
    for (let i = from; i < labels.length; i++) {
      const label = labels[i];
      if (label !== undefined && labels.indexOf(label) !== i) throw new Error(`${who}: the step reports ${label} twice`);
      const s = scalars[i]!;
      if (s.rank !== 0) throw new Error(`${who}: ${label ?? 'a gradient norm'} must be a scalar, got shape [${s.shape.join(', ')}]`);
    }
  };
  const pending: { objective: StepObjective; optimizers: readonly TrainingOptimizer[]; grads: tf.Tensor[]; norm?: number }[] = [];
  try {
    for (const objective of objectives) {
      const name = objective.name ?? 'loss';
      const { clipNorm } = objective;
      if (clipNorm !== undefined && !(clipNorm > 0)) throw new Error(`${who}: clipNorm must be > 0, got ${clipNorm}`);
      const evaluate = (): tf.Scalar => {
        const out = objective.loss();
        if (isTensor(out)) return out as tf.Scalar;
        for (const [label, s] of Object.entries(out.report)) record(label, tf.keep(s));
        return out.loss;
      };
      const first = scalars.length;
      if (objective.update === false) {
        record(name, tf.tidy(evaluate));
        if (objective.gradNorm !== undefined) record(objective.gradNorm, tf.scalar(0));
        validate(first);
        continue;
      }
      const optimizers = Array.isArray(objective.optimizer)
        ? (objective.optimizer as readonly TrainingOptimizer[])
        : [objective.optimizer as TrainingOptimizer];
      const vars = optimizers.flatMap((o) => o.vars) as tf.Variable[];
      const { value, grads: byName } = tf.variableGrads(evaluate, vars);
      owned.push(...Object.values(byName));
      record(name, value);
      const grads = vars.map((v) => byName[v.name] ?? tf.zerosLike(v));
      owned.push(...grads);
      const entry: (typeof pending)[number] = { objective, optimizers, grads };
      pending.push(entry);
      if (objective.gradNorm !== undefined || clipNorm !== undefined) {
        const norm = tf.tidy(() =>
          grads.length === 0 ? tf.scalar(0) : (tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar),
        );
        entry.norm = record(objective.gradNorm, norm, objective.gradNorm ?? `gradient norm of ${name}`);
      }
      validate(first);
    }

    const read = tf.tidy(() => tf.stack(scalars).dataSync());
    const values: StepLosses = {};
    const checked: StepLosses = {};
    labels.forEach((label, i) => {
      if (label !== undefined) values[label] = read[i]!;
      checked[checkNames[i]!] = read[i]!;
    });
    checkFinite(who, step, checked);
    const updates = pending.map(({ objective }) =>
      typeof objective.update === 'function' ? objective.update(values) : objective.update ?? true,
    );
    pending.forEach(({ objective, optimizers, grads, norm }, k) => {
      if (!updates[k]) return;
      let applied = grads;
      const clipNorm = objective.clipNorm;
      if (clipNorm !== undefined && read[norm!]! > clipNorm) {
        const scale = clipNorm / read[norm!]!;
        applied = grads.map((g) => tf.mul(g, scale));
        owned.push(...applied);
      }
      let offset = 0;
      for (const o of optimizers) {
        o.apply(applied.slice(offset, offset + o.vars.length));
        offset += o.vars.length;
      }
    });
    return values;
  } finally {
    tf.dispose([...scalars, ...owned]);
  }
}

/** The seeded random stream of step `step` of a run seeded with `seed`: independent of every other step. */
export function stepRng(seed: number, step: number): Rng {
  let x = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = (x + Math.imul(step + 1, 0xc2b2ae35)) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0x27d4eb2f) >>> 0;
  return new Rng((x ^ (x >>> 16)) >>> 0);
}

/** Checkpointing and progress settings shared by the training functions. */
export interface TrainingRunOptions {
  /** Number of updates the run ends at (counting those restored from a checkpoint). */
  steps: number;
  /** Seed of the per-step random streams (batches, noise). Default 0. */
  seed?: number;
  /**
   * Directory for checkpoints. When it already holds one made by the same setup, training
   * resumes from the newest: the continued run equals an uninterrupted one.
   */
  checkpointDir?: string;
  /** Write a checkpoint every this many steps (and after the last). Default: only after the last. */
  checkpointEvery?: number;
  /** Checkpoints kept on disk. Default 2. */
  keepCheckpoints?: number;
  /** A progress bar on stderr (default true, silenced by PPGN_QUIET), false, or your own `Progress`. */
  progress?: boolean | Progress;
  /** Called after every step with its losses. */
  onStep?: (report: StepReport) => void;
}

/** What the training functions return. */
export interface TrainingResult {
  /** Updates done in total (including those restored from a checkpoint). */
  step: number;
  /** The step the run started from (0, or the restored checkpoint's step). */
  startStep: number;
  /** Losses of each step run in this call, in order. */
  history: StepLosses[];
  /** The last checkpoint written, if any. */
  checkpoint?: string;
}

/** The generic training loop behind `trainGenerator`, `trainHDae` and `trainXDae`. */
export interface TrainingLoop<S> extends TrainingRunOptions {
  /** Function name for errors and the progress label. */
  who: string;
  /** Models saved in checkpoints, by name. */
  models: Record<string, LayersModel>;
  /** Their optimizers, by the same names. */
  optimizers: Record<string, TrainingOptimizer>;
  /** JSON loop state carried between steps and saved in checkpoints (e.g. last GAN losses). */
  state: S;
  /** The setup; a checkpoint made with a different one is refused. */
  fingerprint: Record<string, unknown>;
  /**
   * Runs step `step` (0-based) with its random stream and returns its losses. It must throw
   * (e.g. via `checkFinite`) before applying any update when a value is not finite.
   */
  step(step: number, rng: Rng, state: S): Promise<{ losses: StepLosses; state: S }>;
  /** Called once when resuming at `step` > 0 (e.g. to skip iterator batches). */
  onResume?(step: number): Promise<void>;
}

function fingerprintDiff(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k}: checkpoint ${JSON.stringify(a[k])}, now ${JSON.stringify(b[k])}`);
}

/**
 * Runs a training loop: resumes from the newest checkpoint in `checkpointDir` (models,
 * optimizer state, loop state, step; the random streams are derived from seed and step),
 * runs the remaining steps, reports progress, writes checkpoints atomically, and stops on a
 * non-finite loss with a `NonFiniteLossError` naming the step and the last good checkpoint.
 */
export async function runTraining<S>(loop: TrainingLoop<S>): Promise<TrainingResult & { state: S }> {
  const { who } = loop;
  const steps = loop.steps;
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`${who}: steps must be a non-negative integer, got ${steps}`);
  const every = loop.checkpointEvery;
  if (every !== undefined && (!Number.isInteger(every) || every <= 0)) {
    throw new Error(`${who}: checkpointEvery must be a positive integer, got ${every}`);
  }
  const seed = loop.seed ?? 0;
  let state = loop.state;
  let startStep = 0;
  let lastCheckpoint: CheckpointRef | undefined;

  if (loop.checkpointDir !== undefined) {
    const found = await latestCheckpoint(loop.checkpointDir);
    if (found !== undefined) {
      const meta = await readCheckpointMeta(found.path);
      const fingerprint = { who, seed, ...loop.fingerprint };
      const diff = fingerprintDiff({ who: meta.who, seed: meta.seed, ...meta.fingerprint }, fingerprint);
      if (diff.length > 0) {
        throw new Error(
          `${who}: checkpoint ${found.path} was made with a different setup (${diff.join('; ')}); ` +
            'use another checkpointDir to start over',
        );
      }
      for (const name of Object.keys(loop.models)) {
        if (!meta.models.includes(name)) throw new Error(`${who}: checkpoint ${found.path} has no model ${name}`);
      }
      for (const [name, model] of Object.entries(loop.models)) await restoreModel(model, found.path, name, who);
      const tensors = await loadOptimizerState(found.path);
      try {
        for (const [name, opt] of Object.entries(loop.optimizers)) {
          opt.setState(tensors, meta.iterations[name] ?? 0, `${name}/`);
        }
      } finally {
        tf.dispose(Object.values(tensors));
      }
      state = meta.state as S;
      startStep = meta.step;
      lastCheckpoint = found;
      if (startStep > 0) await loop.onResume?.(startStep);
    }
  }

  const progress: Progress | undefined =
    loop.progress === false
      ? undefined
      : loop.progress === true || loop.progress === undefined
        ? createProgress(who, steps)
        : loop.progress;

  const save = async (step: number): Promise<void> => {
    if (loop.checkpointDir === undefined) return;
    const optimizer: Record<string, tf.Tensor> = {};
    const iterations: Record<string, number> = {};
    for (const [name, opt] of Object.entries(loop.optimizers)) {
      Object.assign(optimizer, opt.stateTensors(`${name}/`));
      iterations[name] = opt.iterations;
    }
    const p = await writeCheckpoint(
      loop.checkpointDir,
      { step, models: loop.models, optimizer, meta: { who, seed, fingerprint: loop.fingerprint, state, iterations } },
      loop.keepCheckpoints ?? 2,
    );
    lastCheckpoint = { path: p, step };
  };

  const history: StepLosses[] = [];
  let step = startStep;
  let written: string | undefined;
  for (; step < steps; step++) {
    let out: { losses: StepLosses; state: S };
    try {
      out = await loop.step(step, stepRng(seed, step), state);
    } catch (err) {
      if (err instanceof NonFiniteLossError) {
        const where = lastCheckpoint
          ? `last good checkpoint: ${lastCheckpoint.path} (step ${lastCheckpoint.step})`
          : 'no checkpoint was written';
        progress?.finish(`stopped at step ${step}`);
        throw new NonFiniteLossError(
          `${err.message}; training stopped before applying this step's update; ${where}`,
          err.step,
          err.losses,
          lastCheckpoint,
        );
      }
      throw err;
    }
    state = out.state;
    history.push(out.losses);
    const done = step + 1;
    loop.onStep?.({ step: done, steps, losses: out.losses });
    progress?.update(done, formatLosses(out.losses));
    if ((every !== undefined && done % every === 0) || done === steps) {
      await save(done);
      written = lastCheckpoint?.path;
    }
  }
  progress?.finish(history.length > 0 ? formatLosses(history.at(-1)!) : `nothing to do (at step ${step})`);
  return { step, startStep, history, checkpoint: written, state };
}

function formatLosses(losses: StepLosses): string {
  return Object.entries(losses)
    .map(([k, v]) => `${k} ${v.toPrecision(4)}`)
    .join(' ');
}
