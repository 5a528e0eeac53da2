/**
 * `ppgn lapgan train|sample|compare`: the LAPGAN parts of the zoo (a class-conditional
 * Laplacian pyramid and its single-scale baseline), their samples, and the comparison of
 * the two on the evaluator's metrics with nearest-neighbour sheets.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initBackend } from '@ppgn/backend';
import { loadJSON, saveJSON, writePng } from '@ppgn/core';
import type { SampleMetrics } from '@ppgn/eval';
import { upsample } from '@ppgn/lapgan';
import {
  everyClass,
  LAPGAN_PARTS,
  LAPGAN_RECIPES,
  type LapganPart,
  lapganEvaluation,
  loadLapganPart,
  readCard,
  sampleClasses,
  scoreSamples,
  trainLapgan,
  writeLevelsGrid,
  writeNeighbourSheets,
  writeSampleGrid,
} from '@ppgn/zoo';
import * as tf from '@tensorflow/tfjs';
import { type CommandSpec, runCommand, UsageError } from '../args.js';

const ENTRIES = Object.keys(LAPGAN_RECIPES);

/** A class given by index or by name. */
function classIndexOf(value: string, classNames: readonly string[]): number {
  const byName = classNames.indexOf(value);
  if (byName >= 0) return byName;
  const index = Number(value);
  if (Number.isInteger(index) && index >= 0 && index < classNames.length) return index;
  throw new UsageError(`--class: unknown class '${value}'; classes are 0..${classNames.length - 1} (${classNames.join(', ')})`);
}

function entryOf(value: string | undefined, what: string): string {
  if (value === undefined) throw new UsageError(`missing ${what}; entries are ${ENTRIES.join(', ')}`);
  if (!ENTRIES.includes(value)) throw new UsageError(`unknown entry '${value}'; entries are ${ENTRIES.join(', ')}`);
  return value;
}

export const lapganTrainCommand: CommandSpec = {
  name: 'lapgan train',
  summary: "train a zoo entry's LAPGAN pyramid, then its single-scale baseline for as long (resumable)",
  usage: 'lapgan train <entry> [--part lapgan|gan ...] [--level K] [--force] [--steps-scale X]',
  positionals: ['entry'],
  flags: {
    part: { type: 'string', help: 'only this part (repeatable): lapgan (the pyramid) or gan (the baseline)', choices: LAPGAN_PARTS, multiple: true },
    level: { type: 'integer', help: 'train only this pyramid level (the pyramid is saved once every level is done)', min: 0 },
    force: { type: 'boolean', help: 'retrain from scratch (the shipped part is replaced once the new one is saved)' },
    'steps-scale': { type: 'number', help: 'multiply the step counts and the baseline time budget (e.g. 0.01 for a smoke run)', min: 0, default: 1 },
  },
  async run(flags, positionals) {
    const entry = entryOf(positionals[0], '<entry>');
    const backend = await initBackend();
    console.error(`training ${entry} LAPGAN parts on ${backend}`);
    await trainLapgan(entry, {
      backend,
      parts: flags.part as LapganPart[] | undefined,
      level: flags.level as number | undefined,
      force: flags.force as boolean | undefined,
      stepsScale: flags['steps-scale'] as number,
    });
  },
};

export const lapganSampleCommand: CommandSpec = {
  name: 'lapgan sample',
  summary: 'sample a class from a LAPGAN zoo part: a PNG per sample, a grid of every level side by side, metrics with --eval',
  usage: 'lapgan sample --zoo mnist --class 3 [--n 16] [--seed 1] [--model lapgan|gan] [--out DIR] [--eval]',
  flags: {
    zoo: { type: 'string', help: 'zoo entry', choices: ENTRIES, default: 'mnist' },
    class: { type: 'string', help: 'class index or name' },
    n: { type: 'integer', help: 'number of samples', min: 1, max: 4096, default: 16 },
    seed: { type: 'integer', help: 'random seed (same seed, same samples)', default: 1 },
    model: { type: 'string', help: 'the pyramid or the single-scale baseline', choices: LAPGAN_PARTS, default: 'lapgan' },
    out: { type: 'string', help: 'output directory', default: 'out/lapgan' },
    eval: { type: 'boolean', help: "write metrics.json (the entry evaluator's metrics, as 'ppgn eval')" },
  },
  async run(flags) {
    if (flags.class === undefined) throw new UsageError('--class is required (a class index or name)');
    const entry = flags.zoo as string;
    const model = flags.model as LapganPart;
    const backend = await initBackend();
    const pyramid = await loadLapganPart(entry, model);
    try {
      const classNames = Array.from({ length: pyramid.numClasses }, (_, c) => pyramid.className(c));
      const classIndex = classIndexOf(flags.class as string, classNames);
      const n = flags.n as number;
      const out = flags.out as string;
      await mkdir(out, { recursive: true });
      const classes = new Array<number>(n).fill(classIndex);
      const samples = sampleClasses(pyramid, classes, flags.seed as number);
      try {
        const digits = Math.max(3, String(n - 1).length);
        for (let i = 0; i < n; i++) {
          const image = tf.slice(samples.images, [i, 0, 0, 0], [1, -1, -1, -1]);
          await writePng(join(out, `sample-${String(i).padStart(digits, '0')}.png`), image);
          image.dispose();
        }
        await writeLevelsGrid(join(out, 'levels.png'), pyramid, samples.levels, classes);
        console.log(`${n} samples of ${classNames[classIndex]} (${entry}/${model}, ${backend}) -> ${out}/sample-*.png, ${out}/levels.png`);
        if (flags.eval) {
          const evaluation = await lapganEvaluation(entry);
          try {
            const metrics = scoreSamples(evaluation, samples.images, classes);
            await saveJSON(join(out, 'metrics.json'), { entry, model, class: classNames[classIndex], n, seed: flags.seed, backend, metrics });
            console.log(JSON.stringify(metrics));
          } finally {
            evaluation.dispose();
          }
        }
      } finally {
        samples.dispose();
      }
    } finally {
      pyramid.dispose();
    }
  },
};

interface CompareRow {
  /** 'LAPGAN', 'single-scale GAN', 'real test images', or a pyramid cut short: 'LAPGAN to 16x16 (upsampled)'. */
  model: string;
  part?: LapganPart;
  generatorParameters?: number;
  trainSteps?: number;
  trainSeconds?: number;
  metrics: SampleMetrics;
}

const fmt = (v: number | undefined, digits = 2) => (v !== undefined && Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

/** The comparison table as Markdown, one block of rows per entry. */
export function compareTable(results: Record<string, CompareRow[]>): string {
  const lines = [
    '| entry | model | G parameters | training (steps, s) | evaluator accuracy (intended class) | Frechet distance | diversity (vs real) | median NN distance to train, pixels | median NN distance to train, features |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const [entry, rows] of Object.entries(results)) {
    for (const r of rows) {
      const m = r.metrics;
      const params = r.generatorParameters === undefined ? '' : r.generatorParameters.toLocaleString('en-US');
      const training = r.trainSteps === undefined ? '' : `${r.trainSteps}, ${r.trainSeconds} s`;
      lines.push(
        `| ${entry} | ${r.model} | ${params} | ${training} | ${fmt(m.accuracy * 100, 1)}% | ${fmt(m.frechetDistance)} | ${fmt(m.diversity)} (${fmt(m.diversityVsReal)}x) | ${fmt(m.nearestTrainPixel)} | ${fmt(m.nearestTrainFeature)} |`,
      );
    }
  }
  return lines.join('\n');
}

export const lapganCompareCommand: CommandSpec = {
  name: 'lapgan compare',
  summary: 'LAPGAN vs the single-scale GAN vs real held-out images on the evaluator metrics, with sample, level and nearest-neighbour sheets',
  usage: 'lapgan compare [--entry mnist ...] [--per-class 100] [--seed 1] [--sheets 10] [--out docs/results/lapgan]',
  flags: {
    entry: { type: 'string', help: 'zoo entry (repeatable; default every entry with LAPGAN parts)', choices: ENTRIES, multiple: true },
    'per-class': { type: 'integer', help: 'samples per class and model', min: 2, default: 100 },
    seed: { type: 'integer', help: 'random seed', default: 1 },
    sheets: { type: 'integer', help: 'samples in each nearest-neighbour sheet', min: 1, default: 10 },
    out: { type: 'string', help: 'output directory (table.md and metrics.json keep the rows of entries not run now)', default: 'docs/results/lapgan' },
  },
  async run(flags) {
    const entries = (flags.entry as string[] | undefined) ?? ENTRIES;
    const out = flags.out as string;
    const perClass = flags['per-class'] as number;
    const seed = flags.seed as number;
    const backend = await initBackend();
    await mkdir(out, { recursive: true });
    const metricsFile = join(out, 'metrics.json');
    let saved: { results: Record<string, CompareRow[]> } = { results: {} };
    try {
      saved = await loadJSON(metricsFile);
    } catch {
      // No earlier results: start a new file.
    }
    for (const entry of entries) {
      const evaluation = await lapganEvaluation(entry);
      const card = await readCard(entry);
      try {
        const rows: CompareRow[] = [{ model: 'real test images', metrics: evaluation.realBaseline() }];
        for (const part of LAPGAN_PARTS) {
          const pyramid = await loadLapganPart(entry, part);
          try {
            const k = pyramid.numClasses;
            const classes = everyClass(k, perClass);
            const samples = sampleClasses(pyramid, classes, seed);
            try {
              const report = card?.parts[part];
              rows.push({
                model: part === 'lapgan' ? 'LAPGAN' : 'single-scale GAN',
                part,
                generatorParameters: report?.parameters,
                trainSteps: report?.steps,
                trainSeconds: report?.trainSeconds,
                metrics: scoreSamples(evaluation, samples.images, classes),
              });
              console.error(`${entry} ${part}: ${JSON.stringify(rows.at(-1)!.metrics)}`);
              // What the finer levels add: the same samples stopped at each coarser level, upsampled.
              const final = pyramid.sizes[pyramid.sizes.length - 1]!;
              for (let k = pyramid.levels.length - 2; k >= 0; k--) {
                const size = pyramid.sizes[k]!;
                const coarse = upsample(samples.levels[k]!, final);
                rows.push({ model: `LAPGAN to ${size}x${size} (upsampled)`, part, metrics: scoreSamples(evaluation, coarse, classes) });
                coarse.dispose();
              }
              const shown = Math.min(8, perClass);
              const gridIdx = classes.flatMap((_, i) => (i % perClass < shown ? [i] : []));
              const grid = tf.gather(samples.images, gridIdx) as tf.Tensor4D;
              await writeSampleGrid(join(out, `samples-${entry}-${part}.png`), grid, shown, Array.from({ length: k }, (_, c) => pyramid.className(c)));
              grid.dispose();
              await writeNeighbourSheets(evaluation, samples.images, flags.sheets as number, {
                pixel: join(out, `nn-pixel-${entry}-${part}.png`),
                feature: join(out, `nn-features-${entry}-${part}.png`),
              });
              if (pyramid.levels.length > 1) {
                // Two samples of every class, each level side by side.
                const levelIdx = classes.flatMap((_, i) => (i % perClass < 2 ? [i] : []));
                const levels = samples.levels.map((l) => tf.gather(l, levelIdx) as tf.Tensor4D);
                await writeLevelsGrid(join(out, `levels-${entry}.png`), pyramid, levels, levelIdx.map((i) => classes[i]!));
                tf.dispose(levels);
              }
            } finally {
              samples.dispose();
            }
          } finally {
            pyramid.dispose();
          }
        }
        saved.results[entry] = rows;
        await saveJSON(metricsFile, { backend, perClass, seed, results: saved.results });
        const table = compareTable(saved.results);
        await writeFile(join(out, 'table.md'), `${table}\n`);
        console.log(table);
      } finally {
        evaluation.dispose();
      }
    }
  },
};

const SUBCOMMANDS = [lapganTrainCommand, lapganSampleCommand, lapganCompareCommand];

function lapganHelp(): string {
  const lines = ['ppgn lapgan <train|sample|compare> [flags]', '', 'Subcommands:'];
  for (const c of SUBCOMMANDS) lines.push(`  ${c.name.slice('lapgan '.length).padEnd(10)}${c.summary}`);
  lines.push('', "Run 'ppgn lapgan <subcommand> --help' for its flags.");
  return lines.join('\n');
}

export const lapganCommand: CommandSpec = {
  name: 'lapgan',
  summary: 'LAPGAN zoo parts: train, sample (every level side by side), compare with a single-scale GAN',
  usage: 'lapgan <train|sample|compare> [flags]',
  flags: {},
  async run() {
    throw new UsageError('use lapgan train, lapgan sample or lapgan compare');
  },
  async raw(argv) {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === '--help' || sub === 'help') {
      console.log(lapganHelp());
      return sub === undefined ? 2 : 0;
    }
    const cmd = SUBCOMMANDS.find((c) => c.name === `lapgan ${sub}`);
    if (!cmd) {
      console.error(`ppgn lapgan: unknown subcommand '${sub}'; use ${SUBCOMMANDS.map((c) => c.name.slice(7)).join(', ')}`);
      return 2;
    }
    return runCommand(cmd, rest);
  },
};
