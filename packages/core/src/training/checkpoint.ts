import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { loadJSON, loadWeights, saveJSON, saveModel, saveWeights, syncDir } from '../model-files.js';
import { CHECKPOINT_FORMAT, checkpointName } from './checkpoint-names.js';

/**
 * Training checkpoints on disk. A checkpoint is one directory `step-<8 digits>` inside the
 * checkpoint directory holding:
 * - `<model>/model.json` + weights for each trained model (standard tfjs layers format, so
 *   `loadModel` from @ppgn/core opens a checkpointed G or DAE directly);
 * - `optimizer.json` + weights: the optimizers' state as named tensors;
 * - `checkpoint.json`: the step, seed, loop state and the setup fingerprint.
 * It is written under a temporary name and renamed into place, so a checkpoint directory is
 * either complete or absent. `latest.json` names the newest one (for people and tools;
 * resuming scans the directories). Older checkpoints beyond `keep` are removed. One run
 * writes into a directory at a time.
 *
 * The random state needs no file: every step draws from its own stream derived from the
 * run's seed and the step number (`stepRng`), so seed + step restore it exactly.
 */

export { CHECKPOINT_FORMAT, checkpointName };

/** What `checkpoint.json` holds. */
export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: 1;
  /** The training function that wrote it (e.g. `trainGenerator`). */
  who: string;
  /** Number of updates done. */
  step: number;
  seed: number;
  /** The setup the run was started with; resuming requires the same. */
  fingerprint: Record<string, unknown>;
  /** Loop state (JSON), e.g. the GAN losses of the last step. */
  state: unknown;
  /** Names of the saved models, one subdirectory each. */
  models: string[];
  /** Update count of each optimizer, by model name. */
  iterations: Record<string, number>;
  savedAt: string;
}

/** A checkpoint found on disk. */
export interface CheckpointRef {
  /** The checkpoint's directory. */
  path: string;
  step: number;
}

/** Directory name of the checkpoint after `step` updates. */

const NAME = /^step-(\d{8,})$/;

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Every complete checkpoint in `dir`, oldest first. */
export async function listCheckpoints(dir: string): Promise<CheckpointRef[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const found: CheckpointRef[] = [];
  for (const name of names) {
    const m = NAME.exec(name);
    if (m === null) continue;
    const p = path.join(dir, name);
    if (await exists(path.join(p, 'checkpoint.json'))) found.push({ path: p, step: Number(m[1]) });
  }
  return found.sort((a, b) => a.step - b.step);
}

/** The newest complete checkpoint in `dir`, or undefined when there is none. */
export async function latestCheckpoint(dir: string): Promise<CheckpointRef | undefined> {
  return (await listCheckpoints(dir)).at(-1);
}

/** What `writeCheckpoint` saves. */
export interface CheckpointContent {
  step: number;
  models: Record<string, LayersModel>;
  /** Optimizer state (read, not disposed). */
  optimizer: Record<string, Tensor>;
  meta: Omit<CheckpointMeta, 'format' | 'version' | 'step' | 'models' | 'savedAt'>;
}

/**
 * Writes a checkpoint atomically into `dir` (see the module notes) and keeps the newest
 * `keep` ones. Returns the checkpoint's directory.
 */
export async function writeCheckpoint(dir: string, content: CheckpointContent, keep = 2): Promise<string> {
  await mkdir(dir, { recursive: true });
  const name = checkpointName(content.step);
  const target = path.join(dir, name);
  const tmp = path.join(dir, `.${name}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    for (const [modelName, model] of Object.entries(content.models)) {
      await saveModel(model, path.join(tmp, modelName));
    }
    await saveWeights(tmp, content.optimizer, { name: 'optimizer' });
    const meta: CheckpointMeta = {
      format: CHECKPOINT_FORMAT,
      version: 1,
      step: content.step,
      models: Object.keys(content.models),
      savedAt: new Date().toISOString(),
      ...content.meta,
    };
    await saveJSON(path.join(tmp, 'checkpoint.json'), meta);
    if (await exists(target)) {
      // A re-run reached the same step: move the old one aside, then drop it.
      const old = `${tmp}.old`;
      await rename(target, old);
      await rename(tmp, target);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, target);
    }
    await syncDir(dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  await saveJSON(path.join(dir, 'latest.json'), { step: content.step, path: name });
  const all = await listCheckpoints(dir);
  const stale = all.filter((c) => c.path !== target).slice(0, Math.max(0, all.length - Math.max(1, keep)));
  await Promise.all(stale.map((c) => rm(c.path, { recursive: true, force: true })));
  // Temporaries left by an interrupted save (one writer per directory).
  const leftovers = (await readdir(dir)).filter((n) => /^\.step-\d+\.tmp-/.test(n));
  await Promise.all(leftovers.map((n) => rm(path.join(dir, n), { recursive: true, force: true })));
  return target;
}

/** Reads and checks `checkpoint.json` of the checkpoint at `ckpt`. */
export async function readCheckpointMeta(ckpt: string): Promise<CheckpointMeta> {
  const meta = await loadJSON<CheckpointMeta>(path.join(ckpt, 'checkpoint.json'));
  if (meta.format !== CHECKPOINT_FORMAT || meta.version !== 1) {
    throw new Error(`${ckpt}/checkpoint.json is not a ${CHECKPOINT_FORMAT} v1 file`);
  }
  return meta;
}

/**
 * Sets `model`'s weights from the checkpointed model `name` in `ckpt`, by position (layer
 * names differ between model instances), checking every shape.
 */
export async function restoreModel(model: LayersModel, ckpt: string, name: string, who: string): Promise<void> {
  const { tensors } = await loadWeights(path.join(ckpt, name), { name: 'model' });
  const saved = Object.values(tensors);
  try {
    const weights = model.weights;
    if (saved.length !== weights.length) {
      throw new Error(`${who}: checkpoint ${ckpt} has ${saved.length} weights for ${name} but the model has ${weights.length}`);
    }
    weights.forEach((w, i) => {
      const s = saved[i]!;
      if (s.shape.join(',') !== w.shape.join(',')) {
        throw new Error(
          `${who}: checkpoint ${ckpt}: weight ${i} of ${name} is [${s.shape.join(', ')}] but the model's ${w.name} is [${w.shape.join(', ')}]`,
        );
      }
    });
    model.setWeights(saved);
  } finally {
    tf.dispose(saved);
  }
}

/** Reads the optimizer tensors of the checkpoint at `ckpt` (the caller disposes them). */
export async function loadOptimizerState(ckpt: string): Promise<Record<string, Tensor>> {
  return (await loadWeights(ckpt, { name: 'optimizer' })).tensors;
}
