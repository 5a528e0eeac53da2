/**
 * Training the LAPGAN parts of a zoo entry (`ppgn lapgan train <entry>`): each pyramid level
 * and the baseline resume from checkpoints in the work folder; the finished part is written
 * beside the entry's other parts and recorded in its card.
 */
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createProgress, latestCheckpoint, loadJSON, saveJSON, writeFileAtomic } from '@ppgn/core';
import {
  describeSpec,
  LapganPyramid,
  loadPyramid,
  MANIFEST_FILE,
  type ImageSet,
  type LevelSpec,
  type PyramidConfig,
  type PyramidLevel,
  savePyramid,
  type TrainLevelResult,
  trainLevel,
} from '@ppgn/lapgan';
import { entryDir, workRoot } from '../paths.js';
import { cardPath, type PartReport, readCard, renderCard, type StageContext, scaled, stageClock } from '../recipes/recipe.js';
import { baselineConfig, LAPGAN_PARTS, type LapganPart, type LapganRecipe, lapganRecipe, paddedImages, pyramidParams } from './recipes.js';

export interface TrainLapganOptions {
  /** Parts to train, in order (default both: the baseline needs the pyramid's training time). */
  parts?: readonly LapganPart[];
  /** Train only this pyramid level (the part is saved once every level is done). */
  level?: number;
  /**
   * Retrain from scratch: drops the part's checkpoints (with `level`, only that level's); the
   * shipped part is replaced once the new one is saved.
   */
  force?: boolean;
  backend: string;
  /** Multiplies the step counts (and the baseline's time budget), e.g. 0.01 for a smoke run. */
  stepsScale?: number;
  log?: (line: string) => void;
}

/** Where a LAPGAN part of an entry lives. */
export function lapganPartDir(entry: string, part: LapganPart): string {
  return join(entryDir(entry), part);
}

export function lapganPartExists(entry: string, part: LapganPart): boolean {
  return existsSync(join(lapganPartDir(entry, part), MANIFEST_FILE));
}

/** Loads a trained LAPGAN part (generators only) as a pyramid; the baseline is a one-level pyramid. */
export async function loadLapganPart(entry: string, part: LapganPart): Promise<LapganPyramid> {
  lapganRecipe(entry);
  if (!LAPGAN_PARTS.includes(part)) throw new Error(`lapgan: unknown part '${part}'; parts are ${LAPGAN_PARTS.join(', ')}`);
  if (!lapganPartExists(entry, part)) {
    throw new Error(`lapgan: ${entry}/${part} is not trained yet (no ${join(lapganPartDir(entry, part), MANIFEST_FILE)}); run 'ppgn lapgan train ${entry}'`);
  }
  return loadPyramid(lapganPartDir(entry, part), { discriminators: false });
}

interface LevelRecord {
  steps: number;
  seconds: number;
  /** Mean losses over the last steps run (up to 200). */
  dLoss: number;
  gLoss: number;
}

function levelRecord(result: TrainLevelResult, seconds: number, prior: LevelRecord | undefined): LevelRecord {
  const tail = (xs: number[]) => {
    const last = xs.slice(-200);
    return last.length === 0 ? Number.NaN : last.reduce((a, b) => a + b, 0) / last.length;
  };
  const ran = result.history.dLoss.length > 0;
  return {
    steps: result.step,
    seconds,
    dLoss: ran ? tail(result.history.dLoss) : (prior?.dLoss ?? Number.NaN),
    gLoss: ran ? tail(result.history.gLoss) : (prior?.gLoss ?? Number.NaN),
  };
}

async function readRecord(dir: string): Promise<LevelRecord | undefined> {
  const file = join(dir, 'record.json');
  return existsSync(file) ? loadJSON<LevelRecord>(file) : undefined;
}

/** Trains level `k` (resuming), keeping its summed wall time and last losses in its checkpoint folder. */
async function trainOneLevel(
  recipe: LapganRecipe,
  data: ImageSet,
  config: PyramidConfig,
  k: number,
  steps: number,
  ctx: StageContext,
  log: (line: string) => void,
): Promise<{ level: PyramidLevel; record: LevelRecord }> {
  const clock = await stageClock(ctx, 250);
  const prior = await readRecord(ctx.checkpointDir);
  const label = `${recipe.entry} lapgan level ${k}`;
  const result = await trainLevel({
    config,
    level: k,
    data,
    steps,
    batchSize: recipe.batchSize,
    seed: recipe.seed,
    source: recipe.dataDescription,
    progress: createProgress(label, steps),
    ...clock.run,
  });
  const ran = result.history.dLoss.length;
  const seconds = ran > 0 ? clock.seconds() : (prior?.seconds ?? clock.seconds());
  const record = levelRecord(result, Math.round(seconds * 10) / 10, prior);
  await saveJSON(join(ctx.checkpointDir, 'seconds.json'), { seconds });
  await saveJSON(join(ctx.checkpointDir, 'record.json'), record);
  if (ran > 0) log(`${label}: ${ran} steps, ${result.msPerStep.toFixed(0)} ms/step, D ${record.dLoss.toFixed(3)} G ${record.gLoss.toFixed(3)}`);
  return { level: result.level, record };
}

/** Writes a pyramid as a shipped part: float16 generators only, swapped in once complete. */
async function shipPyramid(pyramid: LapganPyramid, dir: string): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await savePyramid(pyramid, tmp, { discriminators: false, float16: true });
  const old = `${dir}.old-${process.pid}`;
  if (existsSync(dir)) await rename(dir, old);
  await rename(tmp, dir);
  await rm(old, { recursive: true, force: true });
}

async function recordPart(entry: string, part: LapganPart, report: PartReport): Promise<void> {
  const card = await readCard(entry);
  if (card === undefined) throw new Error(`lapgan: ${cardPath(entry)} is missing; the entry must exist before its LAPGAN parts`);
  card.parts[part] = report;
  await saveJSON(cardPath(entry), card);
  await writeFileAtomic(join(entryDir(entry), 'README.md'), renderCard(card));
}

function context(entry: string, dir: string, options: TrainLapganOptions): StageContext {
  return { entry, checkpointDir: join(workRoot(), entry, dir), backend: options.backend, stepsScale: options.stepsScale ?? 1 };
}

async function trainPyramidPart(recipe: LapganRecipe, options: TrainLapganOptions, log: (line: string) => void): Promise<void> {
  const { entry, config } = recipe;
  const count = config.sizes.length;
  if (options.level !== undefined && (!Number.isInteger(options.level) || options.level < 0 || options.level >= count)) {
    throw new Error(`lapgan train ${entry}: level ${options.level} does not exist (levels 0..${count - 1})`);
  }
  const levels: PyramidLevel[] = [];
  const records: LevelRecord[] = [];
  const data = paddedImages((await recipe.data()).train, recipe.pad);
  try {
    for (let k = 0; k < count; k++) {
      const ctx = context(entry, join('lapgan', `level-${k}`), options);
      const steps = scaled(recipe.stepsPerLevel[k]!, ctx);
      if (options.level !== undefined && options.level !== k) {
        const latest = await latestCheckpoint(ctx.checkpointDir);
        if (latest === undefined || latest.step < steps) {
          log(`${entry}/lapgan: level ${k} is not trained yet (${latest?.step ?? 0}/${steps} steps); the part is saved once every level is`);
          return;
        }
      }
      const { level, record } = await trainOneLevel(recipe, data, config, k, steps, ctx, log);
      levels.push(level);
      records.push(record);
    }
    const pyramid = new LapganPyramid(levels, config.classNames === undefined ? {} : { classNames: config.classNames });
    await shipPyramid(pyramid, lapganPartDir(entry, 'lapgan'));
    const params = pyramidParams(config);
    const seconds = records.reduce((a, r) => a + r.seconds, 0);
    await recordPart(entry, 'lapgan', {
      architecture: `LAPGAN ${config.sizes.join(' -> ')}: ${levels.map((l) => describeLevel(l.spec)).join('; ')}`,
      parameters: params.g,
      steps: records.reduce((a, r) => a + r.steps, 0),
      batchSize: recipe.batchSize,
      trainSeconds: Math.round(seconds),
      backend: options.backend,
      seed: recipe.seed,
      metrics: {
        discriminatorParameters: params.d,
        levelSteps: records.map((r) => r.steps).join(' / '),
        levelSeconds: records.map((r) => Math.round(r.seconds)).join(' / '),
        levelFinalLossesDG: records.map((r) => `${r.dLoss.toFixed(3)}/${r.gLoss.toFixed(3)}`).join(', '),
        trainedBy: `ppgn lapgan train ${entry}`,
      },
    });
    log(`${entry}/lapgan: saved (${Math.round(seconds)} s of training, G ${params.g} parameters)`);
  } finally {
    for (const l of levels) l.dispose();
    data.dispose();
  }
}

/** A level's networks in a few words, for the card. */
function describeLevel(spec: LevelSpec): string {
  if (spec.kind === 'base') {
    return `${describeSpec(spec)}: FC G ${spec.gHidden.join('-')} (z ${spec.noiseDim}), FC D ${spec.dHidden.join('-')} (dropout ${spec.dropout})`;
  }
  const g = `${spec.gFilters.join('-')} ${spec.gKernel}x${spec.gKernel}`;
  return `${describeSpec(spec)}: G convs ${g}, D convs ${spec.dFilters} ${spec.dKernel}x${spec.dKernel}`;
}

/** Steps per chunk of the time-budgeted baseline (each chunk resumes from the previous one's checkpoint). */
const BASELINE_CHUNK = 250;

async function trainBaselinePart(recipe: LapganRecipe, options: TrainLapganOptions, log: (line: string) => void): Promise<void> {
  const { entry } = recipe;
  const card = await readCard(entry);
  const pyramidPart = card?.parts.lapgan;
  if (pyramidPart === undefined) throw new Error(`lapgan train ${entry}: the gan baseline trains as long as the pyramid did; train the lapgan part first`);
  const ctx = context(entry, 'gan', options);
  const budget = pyramidPart.trainSeconds * ctx.stepsScale;
  const config = baselineConfig(recipe.config, recipe.baseline);
  const { train } = await recipe.data();
  const data = paddedImages(train, recipe.pad);
  const clock = await stageClock(ctx, BASELINE_CHUNK);
  let step = (await latestCheckpoint(ctx.checkpointDir))?.step ?? 0;
  let result: TrainLevelResult | undefined;
  const losses: { d: number[]; g: number[] } = { d: [], g: [] };
  const progress = createProgress(`${entry} gan (${Math.round(budget)} s budget)`, Math.round(budget));
  try {
    // Whole chunks until the budget is spent: the step count follows from the measured speed.
    const chunk = Math.max(1, Math.round(BASELINE_CHUNK * Math.min(1, ctx.stepsScale * 10)));
    do {
      result?.level.dispose();
      result = undefined;
      const target = clock.seconds() < budget || step === 0 ? step + chunk : step;
      result = await trainLevel({
        config,
        level: 0,
        data,
        steps: target,
        batchSize: recipe.batchSize,
        seed: recipe.seed,
        source: recipe.dataDescription,
        progress: false,
        ...clock.run,
      });
      step = result.step;
      losses.d.push(...result.history.dLoss);
      losses.g.push(...result.history.gLoss);
      progress.update(Math.min(Math.round(budget), Math.round(clock.seconds())), `step ${step}`);
      await saveJSON(join(ctx.checkpointDir, 'seconds.json'), { seconds: clock.seconds() });
    } while (clock.seconds() < budget);
    progress.finish(`${step} steps`);
    const seconds = clock.seconds();
    const pyramid = new LapganPyramid([result.level], config.classNames === undefined ? {} : { classNames: config.classNames });
    await shipPyramid(pyramid, lapganPartDir(entry, 'gan'));
    const params = result.level.paramCounts();
    const tail = (xs: number[]) => (xs.length === 0 ? Number.NaN : xs.slice(-200).reduce((a, b) => a + b, 0) / Math.min(200, xs.length));
    const base = config.base!;
    await recordPart(entry, 'gan', {
      architecture: `single-scale conditional GAN at ${config.sizes[0]}x${config.sizes[0]}: FC G ${base.gHidden!.join('-')} (z ${base.noiseDim}), FC D ${base.dHidden!.join('-')} (dropout ${base.dropout}); the pyramid's base-level kind of network`,
      parameters: params.g,
      steps: step,
      batchSize: recipe.batchSize,
      trainSeconds: Math.round(seconds),
      backend: options.backend,
      seed: recipe.seed,
      metrics: {
        discriminatorParameters: params.d ?? 0,
        timeBudgetSeconds: Math.round(budget),
        finalLossesDG: `${tail(losses.d).toFixed(3)}/${tail(losses.g).toFixed(3)}`,
        trainedBy: `ppgn lapgan train ${entry} --part gan`,
      },
    });
    log(`${entry}/gan: saved (${step} steps in ${Math.round(seconds)} s, G ${params.g} parameters)`);
  } finally {
    result?.level.dispose();
    data.dispose();
  }
}

/** Trains the LAPGAN parts of `entry` (see `TrainLapganOptions`); parts already shipped are skipped unless forced. */
export async function trainLapgan(entry: string, options: TrainLapganOptions): Promise<void> {
  const recipe = lapganRecipe(entry);
  const log = options.log ?? ((line: string) => console.error(line));
  const parts = options.parts ?? LAPGAN_PARTS;
  for (const part of parts) {
    if (!LAPGAN_PARTS.includes(part)) throw new Error(`lapgan train ${entry}: unknown part '${part}'; parts are ${LAPGAN_PARTS.join(', ')}`);
  }
  for (const part of parts) {
    if (part === 'gan' && options.level !== undefined) continue;
    if (lapganPartExists(entry, part) && !options.force) {
      log(`${entry}/${part}: already trained (use --force to retrain)`);
      continue;
    }
    if (options.force) {
      // --force drops the part's checkpoints, or with --level only that level's.
      const work = options.level === undefined ? join(workRoot(), entry, part) : join(workRoot(), entry, part, `level-${options.level}`);
      await rm(work, { recursive: true, force: true });
    }
    if (part === 'lapgan') await trainPyramidPart(recipe, options, log);
    else await trainBaselinePart(recipe, options, log);
  }
}
