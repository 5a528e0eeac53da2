/**
 * Scoring LAPGAN parts with the entry's evaluator (@ppgn/eval): samples are drawn for
 * every class, cropped back to the entry's image size, and compared with held-out real
 * images; nearest-neighbour sheets show whether samples copy training images.
 */
import { join } from 'node:path';
import { loadModel, writeGrid } from '@ppgn/core';
import type { Dataset } from '@ppgn/data';
import { createEvaluator, createSampleEvaluation, neighbourSheetCells, type SampleMetrics } from '@ppgn/eval';
import { type LapganPyramid, resizeNearest, samplePyramid } from '@ppgn/lapgan';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { entrySpec } from '../entries.js';
import { entryDir } from '../paths.js';
import { cropPadding, type LapganRecipe, lapganRecipe } from './recipes.js';

export type LapganEvaluation = ReturnType<typeof createSampleEvaluation> & {
  recipe: LapganRecipe;
  train: Dataset;
  test: Dataset;
  /** The training images at the entry's size (for neighbour sheets); freed by `dispose`. */
  trainImages: Tensor4D;
  dispose(): void;
};

/** The entry's evaluator against its held-out images and its training set (only the evaluator part is loaded). */
export async function lapganEvaluation(entry: string): Promise<LapganEvaluation> {
  const recipe = lapganRecipe(entry);
  const spec = entrySpec(entry);
  const { train, test } = await recipe.data();
  const model = await loadModel(join(entryDir(entry), 'evaluator'));
  const evaluator = createEvaluator({ id: `${entry}/evaluator`, model, featureLayer: spec.evaluatorFeatureLayer, classNames: [...train.classNames] });
  const testImages = test.images({ start: 0, end: test.size });
  const trainImages = train.images({ start: 0, end: train.size });
  try {
    const evaluation = createSampleEvaluation({ evaluator, test: { images: testImages, labels: test.labels }, train: trainImages });
    return {
      ...evaluation,
      recipe,
      train,
      test,
      trainImages,
      dispose() {
        tf.dispose([testImages, trainImages]);
        evaluator.dispose(); // frees the model too
      },
    };
  } catch (err) {
    tf.dispose([testImages, trainImages]);
    evaluator.dispose();
    throw err;
  }
}

/** Samples for the listed classes (one per entry), deterministic by seed: the model's images and every level. */
export function sampleClasses(pyramid: LapganPyramid, classes: readonly number[], seed: number) {
  return samplePyramid({ pyramid, n: classes.length, classIndex: classes, seed });
}

/** `perClass` samples of every class, class after class. */
export function everyClass(numClasses: number, perClass: number): number[] {
  return Array.from({ length: numClasses * perClass }, (_, i) => Math.floor(i / perClass));
}

/** Metrics of model images (at the pyramid's size) meant to show `intended`, after cropping to the evaluator's size. */
export function scoreSamples(evaluation: LapganEvaluation, images: Tensor4D, intended: readonly number[]): SampleMetrics {
  const cropped = cropPadding(images, evaluation.recipe.pad);
  try {
    return evaluation.evaluate(cropped, intended);
  } finally {
    cropped.dispose();
  }
}

/**
 * Nearest-neighbour sheets of `count` samples spread over `images`: each row a sample (at
 * the evaluator's size) then its `k` nearest training images, in pixel space and in the
 * evaluator's feature space.
 */
export async function writeNeighbourSheets(
  evaluation: LapganEvaluation,
  images: Tensor4D,
  count: number,
  files: { pixel: string; feature: string },
  k = 5,
): Promise<void> {
  const n = images.shape[0];
  const step = Math.max(1, Math.floor(n / count));
  const idx = Array.from({ length: Math.min(count, n) }, (_, i) => i * step);
  const queries = tf.tidy(() => cropPadding(tf.gather(images, idx) as Tensor4D, evaluation.recipe.pad));
  try {
    const nn = evaluation.neighbours(queries, k);
    const scale = Math.max(1, Math.round(64 / queries.shape[1]));
    for (const space of ['pixel', 'feature'] as const) {
      const cells = neighbourSheetCells(queries, evaluation.trainImages, nn[space]);
      try {
        await writeGrid(space === 'pixel' ? files.pixel : files.feature, cells, { columns: k + 1, scale });
      } finally {
        cells.dispose();
      }
    }
  } finally {
    queries.dispose();
  }
}

/** A grid of `images` with `columns` per row (e.g. one row per class), enlarged for viewing. */
export async function writeSampleGrid(file: string, images: Tensor4D, columns: number, rowLabels?: string[]): Promise<void> {
  const scale = Math.max(1, Math.round(64 / images.shape[1]));
  await writeGrid(file, images, { columns, scale, ...(rowLabels === undefined ? {} : { rowLabels }) });
}

/**
 * A grid with one row per sample and one column per level (each enlarged to the final
 * size without smoothing), labelled with the level's size and the row's class.
 */
export async function writeLevelsGrid(file: string, pyramid: LapganPyramid, levels: readonly Tensor4D[], classes: readonly number[]): Promise<void> {
  const final = levels[levels.length - 1]!.shape[1];
  const n = classes.length;
  const columns = levels.length;
  const cells = tf.tidy(
    () => tf.reshape(tf.stack(levels.map((l) => resizeNearest(l, final)), 1), [n * columns, final, final, pyramid.channels]) as Tensor4D,
  );
  try {
    const labels = Array.from({ length: n * columns }, (_, i) => {
      const s = levels[i % columns]!.shape[1];
      return `${s}x${s}`;
    });
    await writeGrid(file, cells, { columns, scale: Math.max(1, Math.floor(64 / final)), labels, rowLabels: classes.map((c) => pyramid.className(c)) });
  } finally {
    cells.dispose();
  }
}
