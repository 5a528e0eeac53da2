/**
 * Whole-pyramid helpers for the command line: train every level into a directory, and
 * write samples as image files.
 */
import { createProgress, joinPath, latestCheckpoint, type Progress, writeGrid, writePng } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { loadLevel, savePyramid } from './files.js';
import { LapganPyramid, type PyramidLevel } from './level.js';
import { resizeNearest } from './resize.js';
import { samplePyramid } from './sample.js';
import { describeSpec, levelSpecs } from './spec.js';
import { type TrainLevelOptions, type TrainingHistory, trainLevel } from './train.js';

export interface TrainPyramidOptions extends Omit<TrainLevelOptions, 'level' | 'steps' | 'checkpointDir' | 'progress'> {
  /** The pyramid goes to outDir (pyramid.json + level-k/), checkpoints to outDir/checkpoints/level-k. */
  outDir: string;
  /** Steps of every level, or one count per level. */
  stepsPerLevel: number | readonly number[];
  /**
   * Levels to train in this call (default all). Levels trained by other calls or
   * processes are picked up from their checkpoints; the pyramid is written once every
   * level has its steps.
   */
  levels?: readonly number[];
  /** Save the discriminators with the pyramid (to continue training later). Default true. */
  saveDiscriminators?: boolean;
  /** Progress display per level: true for core's default one, false for none. Default true. */
  progress?: boolean | ((label: string, total: number) => Progress);
}

export interface TrainedLevelSummary {
  level: number;
  step: number;
  resumedFrom: number | null;
  msPerStep: number;
  history: TrainingHistory;
}

export interface TrainPyramidResult {
  /** The whole pyramid, when every level has finished (the caller disposes it); null otherwise. */
  pyramid: LapganPyramid | null;
  /** Path of the written pyramid.json (null when levels are still missing). */
  manifest: string | null;
  /** Levels trained by this call. */
  trained: TrainedLevelSummary[];
  /** Levels that have not reached their steps yet. */
  missing: number[];
}

/** Trains a pyramid level by level (each resumable) and saves it into `outDir`. */
export async function trainPyramid(options: TrainPyramidOptions): Promise<TrainPyramidResult> {
  const { config, outDir } = options;
  const specs = levelSpecs(config);
  const steps = specs.map((_, k) =>
    typeof options.stepsPerLevel === 'number' ? options.stepsPerLevel : options.stepsPerLevel[k],
  );
  steps.forEach((s, k) => {
    if (s === undefined || !Number.isInteger(s) || s < 0) {
      throw new Error(`trainPyramid: stepsPerLevel has no valid count for level ${k} (got ${JSON.stringify(s)})`);
    }
  });
  const toTrain = options.levels ?? specs.map((_, k) => k);
  for (const k of toTrain) {
    if (specs[k] === undefined) throw new Error(`trainPyramid: level ${k} does not exist (levels 0..${specs.length - 1})`);
  }
  const ckpt = (k: number) => joinPath(outDir, 'checkpoints', `level-${k}`);
  const levels: (PyramidLevel | undefined)[] = specs.map(() => undefined);
  const trained: TrainedLevelSummary[] = [];
  const missing: number[] = [];
  try {
    for (const k of toTrain) {
      const label = `level ${k} (${describeSpec(specs[k]!)})`;
      const progress =
        options.progress === false
          ? false
          : typeof options.progress === 'function'
            ? options.progress(label, steps[k]!)
            : createProgress(label, steps[k]!);
      const result = await trainLevel({
        config,
        data: options.data,
        level: k,
        steps: steps[k]!,
        batchSize: options.batchSize,
        optimizer: options.optimizer,
        lr: options.lr,
        seed: options.seed,
        checkpointDir: ckpt(k),
        checkpointEvery: options.checkpointEvery,
        progress,
        gating: options.gating,
        update: options.update,
        source: options.source,
        onStep: options.onStep,
      });
      levels[k] = result.level;
      trained.push({ level: k, step: result.step, resumedFrom: result.resumedFrom, msPerStep: result.msPerStep, history: result.history });
    }
    for (let k = 0; k < specs.length; k++) {
      if (levels[k] !== undefined) continue;
      const latest = await latestCheckpoint(ckpt(k));
      if (latest === undefined || latest.step < steps[k]!) {
        missing.push(k);
        continue;
      }
      levels[k] = await loadLevel(latest.path, specs[k]!, { where: `trainPyramid: level ${k}`, info: { steps: latest.step } });
    }
    if (missing.length > 0) {
      for (const l of levels) l?.dispose();
      return { pyramid: null, manifest: null, trained, missing };
    }
    const pyramid = new LapganPyramid(levels as PyramidLevel[], config.classNames === undefined ? {} : { classNames: config.classNames });
    const manifest = await savePyramid(pyramid, outDir, { discriminators: options.saveDiscriminators ?? true });
    return { pyramid, manifest, trained, missing };
  } catch (err) {
    for (const l of levels) l?.dispose();
    throw err;
  }
}

export interface SampleToFilesOptions {
  pyramid: LapganPyramid;
  /** One class for all samples, one per sample, or (omitted) classes in turn. */
  classIndex?: number | readonly number[];
  n: number;
  seed?: number;
  /** Extra applications of the finest level (see `samplePyramid`). */
  extend?: number | readonly number[];
  outDir: string;
  /** File name stem of the samples: `<prefix>-000.png`. Default 'sample'. */
  prefix?: string;
}

export interface SampleFiles {
  /** One PNG per sample. */
  samples: string[];
  /** The grid: one row per sample, one column per level (enlarged to the final size, nearest neighbour). */
  grid: string;
}

/**
 * Samples `n` images and writes one PNG per sample plus `<prefix>-levels.png`, a grid with
 * a row per sample showing every level side by side (each enlarged to the final size
 * without smoothing, labelled with its size; rows labelled with the class).
 */
export async function sampleToFiles(options: SampleToFilesOptions): Promise<SampleFiles> {
  const { pyramid, n, outDir } = options;
  const prefix = options.prefix ?? 'sample';
  const result = samplePyramid({ pyramid, n, classIndex: options.classIndex, seed: options.seed, extend: options.extend });
  try {
    const final = result.sizes[result.sizes.length - 1]!;
    const digits = Math.max(3, String(n - 1).length);
    const samples: string[] = [];
    for (let i = 0; i < n; i++) {
      const file = joinPath(outDir, `${prefix}-${String(i).padStart(digits, '0')}.png`);
      const image = tf.slice(result.images, [i, 0, 0, 0], [1, -1, -1, -1]);
      try {
        await writePng(file, image);
      } finally {
        image.dispose();
      }
      samples.push(file);
    }
    const columns = result.levels.length;
    const cells = tf.tidy(() => {
      const enlarged = result.levels.map((l) => resizeNearest(l, final));
      // [levels, n, S, S, C] -> rows of samples, one column per level.
      return tf.reshape(tf.stack(enlarged, 1), [n * columns, final, final, pyramid.channels]) as Tensor4D;
    });
    const grid = joinPath(outDir, `${prefix}-levels.png`);
    try {
      const scale = Math.max(1, Math.floor(64 / final));
      const labels = Array.from({ length: n * columns }, (_, i) => {
        const s = result.sizes[i % columns]!;
        return `${s}x${s}`;
      });
      const rowLabels = result.classes === null ? undefined : result.classes.map((c) => pyramid.className(c));
      await writeGrid(grid, cells, { columns, scale, labels, ...(rowLabels === undefined ? {} : { rowLabels }) });
    } finally {
      cells.dispose();
    }
    return { samples, grid };
  } finally {
    result.dispose();
  }
}
