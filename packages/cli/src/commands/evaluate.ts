import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createProgress, saveJSON, writeGrid } from '@ppgn/core';
import { initBackend } from '@ppgn/backend';
import { neighbourSheetCells, type SampleMetrics } from '@ppgn/eval';
import { loadZoo, sampleClass, VARIANT_NAMES, ZOO_ENTRIES, type ZooEntry, type ZooVariant } from '@ppgn/zoo';
import * as tf from '@tensorflow/tfjs';
import { type CommandSpec, UsageError } from '../args.js';
import { displayScale } from '../outputs.js';
import { entryEvaluation } from './shared.js';

export interface VariantEvaluation {
  variant: ZooVariant | 'real test images';
  metrics: SampleMetrics;
  seconds: number;
}

/** Samples `perClass` images of every class with one variant (one batched chain set per class). */
export async function sampleEveryClass(zoo: ZooEntry, variant: ZooVariant, perClass: number, seed: number, steps?: number) {
  const parts: tf.Tensor4D[] = [];
  const intended: number[] = [];
  const progress = createProgress(`${zoo.name} ${variant}`, zoo.classNames.length);
  for (let k = 0; k < zoo.classNames.length; k++) {
    const result = await sampleClass(zoo, { classIndex: k, variant, n: perClass, seed: seed + k, settings: steps ? { steps } : {} });
    parts.push(tf.clone(result.images));
    result.dispose();
    intended.push(...new Array(perClass).fill(k));
    progress.update(k + 1);
  }
  progress.finish();
  const images = tf.concat(parts, 0) as tf.Tensor4D;
  tf.dispose(parts);
  return { images, intended };
}

const fmt = (v: number, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

/** The results table as Markdown. */
export function metricsTable(rows: VariantEvaluation[]): string {
  const head =
    '| variant | evaluator accuracy | Inception-style score | Frechet distance | diversity (vs real) | NN distance to train, pixels | NN distance to train, features |\n' +
    '| --- | --- | --- | --- | --- | --- | --- |';
  const lines = rows.map(
    ({ variant, metrics: m }) =>
      `| ${variant} | ${fmt(m.accuracy * 100, 1)}% | ${fmt(m.inceptionScore, 2)} | ${fmt(m.frechetDistance, 2)} | ${fmt(m.diversity, 2)} (${fmt(m.diversityVsReal, 2)}x) | ${fmt(m.nearestTrainPixel, 2)} | ${fmt(m.nearestTrainFeature, 2)} |`,
  );
  return [head, ...lines].join('\n');
}

export const evalCommand: CommandSpec = {
  name: 'eval',
  summary: 'the five variants on a zoo entry, N samples per class, on every metric, next to real test images',
  usage: 'eval --zoo mnist [--per-class 100] [--variant NAME ...] [--seed 1] [--out out/eval]',
  flags: {
    zoo: { type: 'string', help: 'zoo entry', choices: Object.keys(ZOO_ENTRIES), default: 'mnist' },
    'per-class': { type: 'integer', help: 'samples per class', min: 2, default: 100 },
    variant: { type: 'string', help: 'only this variant (repeatable)', choices: VARIANT_NAMES, multiple: true },
    steps: { type: 'integer', help: 'sampler steps (default: each variant preset)', min: 1 },
    seed: { type: 'integer', help: 'random seed', default: 1 },
    sheets: { type: 'integer', help: 'samples shown in each nearest-neighbour sheet', min: 0, default: 10 },
    out: { type: 'string', help: 'output directory', default: 'out/eval' },
  },
  async run(flags) {
    const variants = (flags.variant as ZooVariant[] | undefined) ?? [...VARIANT_NAMES];
    if (variants.length === 0) throw new UsageError('no variant selected');
    const backend = await initBackend();
    const zoo = await loadZoo(flags.zoo as string);
    const out = flags.out as string;
    await mkdir(out, { recursive: true });
    try {
      const evaluation = await entryEvaluation(zoo);
      const { train } = await zoo.spec.recipe.data();
      const rows: VariantEvaluation[] = [];
      let t = Date.now();
      rows.push({ variant: 'real test images', metrics: evaluation.realBaseline(), seconds: 0 });
      for (const variant of variants) {
        t = Date.now();
        const { images, intended } = await sampleEveryClass(zoo, variant, flags['per-class'] as number, flags.seed as number, flags.steps as number | undefined);
        const metrics = evaluation.evaluate(images, intended);
        rows.push({ variant, metrics, seconds: (Date.now() - t) / 1000 });
        await writeVariantPictures(out, variant, images, intended, zoo, evaluation, train, flags.sheets as number);
        images.dispose();
        await saveJSON(join(out, 'metrics.json'), { zoo: zoo.name, backend, perClass: flags['per-class'], seed: flags.seed, rows });
        console.error(`${variant}: ${JSON.stringify(metrics)}`);
      }
      const table = metricsTable(rows);
      await writeFile(join(out, 'table.md'), `${table}\n`);
      console.log(table);
    } finally {
      zoo.dispose();
    }
  },
};

/** A grid of the first samples of each class, and nearest-neighbour sheets in pixel and feature space. */
async function writeVariantPictures(
  out: string,
  variant: string,
  images: tf.Tensor4D,
  intended: number[],
  zoo: ZooEntry,
  evaluation: Awaited<ReturnType<typeof entryEvaluation>>,
  train: { images(select: { start: number; end: number }): tf.Tensor4D; size: number },
  sheetCount: number,
): Promise<void> {
  const perClass = intended.length / zoo.classNames.length;
  const shown = Math.min(10, perClass);
  const idx: number[] = [];
  for (let k = 0; k < zoo.classNames.length; k++) for (let i = 0; i < shown; i++) idx.push(k * perClass + i);
  const scale = displayScale(images.shape[1]);
  const picked = tf.gather(images, idx) as tf.Tensor4D;
  await writeGrid(join(out, `${variant}-grid.png`), picked, { columns: shown, scale });
  picked.dispose();
  if (sheetCount === 0) return;
  const step = Math.max(1, Math.floor(intended.length / sheetCount));
  const sheetIdx = Array.from({ length: Math.min(sheetCount, intended.length) }, (_, i) => i * step);
  const queries = tf.gather(images, sheetIdx) as tf.Tensor4D;
  const nn = evaluation.neighbours(queries, 5);
  const trainImages = train.images({ start: 0, end: train.size });
  for (const space of ['pixel', 'feature'] as const) {
    const cells = neighbourSheetCells(queries, trainImages, nn[space]);
    await writeGrid(join(out, `${variant}-neighbours-${space}.png`), cells, { columns: 6, scale });
    cells.dispose();
  }
  tf.dispose([queries, trainImages]);
}
