import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadJSON, saveJSON, saveModel, writeFileAtomic } from '@ppgn/core';
import type { Dataset } from '@ppgn/data';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { entryDir, partExists, workRoot } from '../paths.js';

/** What a trained part records in the entry's model card. */
export interface PartReport {
  architecture: string;
  parameters: number;
  steps: number;
  batchSize: number;
  /** Wall-clock training time measured here, in seconds (summed over resumed runs). */
  trainSeconds: number;
  backend: string;
  seed: number;
  metrics: Record<string, number | string>;
}

export interface ModelCard {
  entry: string;
  description: string;
  data: string;
  split: string;
  imageShape: [number, number, number];
  classNames: string[];
  parts: Record<string, PartReport>;
}

export interface StageContext {
  entry: string;
  /** Checkpoint folder of this stage (resumable). */
  checkpointDir: string;
  backend: string;
  /** Multiplies every stage's step count (e.g. 0.01 for a smoke run). */
  stepsScale: number;
}

export interface Stage {
  /** The part this stage writes: models/<entry>/<name>/. */
  name: string;
  /** Parts that must exist first. */
  needs: string[];
  summary: string;
  /** Ship the weights as float16 (generators and DAEs: half the bytes, no visible change). */
  float16?: boolean;
  /** Trains and returns the model to ship with its report. */
  run(ctx: StageContext): Promise<{ model: LayersModel; report: PartReport }>;
}

export interface Recipe {
  entry: string;
  card: Omit<ModelCard, 'parts'>;
  stages: Stage[];
  /** The entry's training and held-out images. */
  data(): Promise<{ train: Dataset; test: Dataset }>;
}

export interface TrainEntryOptions {
  /** Only these stages (default: every stage whose part is missing). */
  stages?: string[];
  /** Retrain parts that exist already. The old part is replaced only once the new one is saved. */
  force?: boolean;
  backend: string;
  stepsScale?: number;
  log?: (line: string) => void;
}

export function cardPath(entry: string): string {
  return join(entryDir(entry), 'card.json');
}

export async function readCard(entry: string): Promise<ModelCard | undefined> {
  return existsSync(cardPath(entry)) ? loadJSON<ModelCard>(cardPath(entry)) : undefined;
}

/**
 * Runs a recipe's stages in order, skipping parts that exist (unless forced), resuming each
 * stage from its checkpoints, saving each part atomically and recording it in card.json.
 */
export async function trainEntry(recipe: Recipe, options: TrainEntryOptions): Promise<ModelCard> {
  const log = options.log ?? ((line: string) => console.error(line));
  const names = recipe.stages.map((s) => s.name);
  for (const s of options.stages ?? []) {
    if (!names.includes(s)) throw new Error(`train ${recipe.entry}: unknown stage '${s}'; stages are ${names.join(', ')}`);
  }
  const card: ModelCard = { ...recipe.card, parts: (await readCard(recipe.entry))?.parts ?? {} };
  for (const stage of recipe.stages) {
    if (options.stages && !options.stages.includes(stage.name)) continue;
    if (partExists(recipe.entry, stage.name) && !options.force) {
      if (options.stages) log(`${recipe.entry}/${stage.name}: already trained (use --force to retrain)`);
      continue;
    }
    for (const need of stage.needs) {
      if (!partExists(recipe.entry, need)) {
        throw new Error(`train ${recipe.entry}: stage '${stage.name}' needs '${need}', which is not trained yet`);
      }
    }
    log(`${recipe.entry}/${stage.name}: ${stage.summary}`);
    const ctx: StageContext = {
      entry: recipe.entry,
      checkpointDir: join(workRoot(), recipe.entry, stage.name),
      backend: options.backend,
      stepsScale: options.stepsScale ?? 1,
    };
    const { model, report } = await stage.run(ctx);
    await saveModel(
      model,
      join(entryDir(recipe.entry), stage.name),
      { part: stage.name, entry: recipe.entry },
      { quantize: stage.float16 ? 'float16' : undefined },
    );
    model.dispose();
    // Re-read: another stage of this entry may have been saved meanwhile by a parallel run.
    card.parts = { ...(await readCard(recipe.entry))?.parts, [stage.name]: report };
    await saveJSON(cardPath(recipe.entry), card);
    await writeFileAtomic(join(entryDir(recipe.entry), 'README.md'), renderCard(card));
    log(`${recipe.entry}/${stage.name}: saved (${JSON.stringify(report.metrics)})`);
  }
  return card;
}

/** Scales a step count, keeping at least one step. */
export function scaled(steps: number, ctx: StageContext): number {
  return Math.max(1, Math.round(steps * ctx.stepsScale));
}

/**
 * Training time of a stage summed over interrupted and resumed runs, kept in the stage's
 * checkpoint folder. `run` holds the checkpoint settings to spread into a training call:
 * checkpoints every `every` steps, and the time saved with each.
 */
export async function stageClock(
  ctx: StageContext,
  every = 250,
): Promise<{
  seconds(): number;
  report(model: { countParams(): number }, part: Omit<PartReport, 'parameters' | 'trainSeconds' | 'backend'>): PartReport;
  run: { checkpointDir: string; checkpointEvery: number; onStep(report: { step: number }): void };
}> {
  const file = join(ctx.checkpointDir, 'seconds.json');
  const prior = existsSync(file) ? (await loadJSON<{ seconds: number }>(file)).seconds : 0;
  const start = Date.now();
  const seconds = () => prior + (Date.now() - start) / 1000;
  return {
    seconds,
    // The part's card entry: what the stage says of it, plus its size, the backend and this clock's seconds.
    report: (model, { architecture, steps, batchSize, seed, metrics }) => ({
      architecture,
      parameters: model.countParams(),
      steps,
      batchSize,
      trainSeconds: Math.round(seconds()),
      backend: ctx.backend,
      seed,
      metrics,
    }),
    run: {
      checkpointDir: ctx.checkpointDir,
      checkpointEvery: every,
      onStep({ step }) {
        if (step % every === 0) void saveJSON(file, { seconds: seconds() });
      },
    },
  };
}

/** The model card as Markdown (written beside card.json as README.md). */
export function renderCard(card: ModelCard): string {
  const lines = [
    `# Zoo entry \`${card.entry}\``,
    '',
    card.description,
    '',
    `- Data: ${card.data}`,
    `- Split: ${card.split}`,
    `- Images: ${card.imageShape.join('x')}, ${card.classNames.length} classes (${card.classNames.join(', ')})`,
    '',
    '| part | architecture | parameters | steps x batch | training time (measured here) | backend | metrics |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const [name, p] of Object.entries(card.parts)) {
    const metrics = Object.entries(p.metrics)
      .filter(([k]) => !['finalLosses', 'losses', 'noise'].includes(k))
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    lines.push(`| ${name} | ${p.architecture} | ${p.parameters.toLocaleString('en-US')} | ${p.steps} x ${p.batchSize} | ${p.trainSeconds} s | ${p.backend} | ${metrics} |`);
  }
  // Parts made by another command name it in their metrics (`trainedBy`).
  const elsewhere = Object.entries(card.parts).filter(([, p]) => typeof p.metrics.trainedBy === 'string');
  const except = elsewhere.length === 0 ? '' : ` except ${elsewhere.map(([name, p]) => `${name} (\`${p.metrics.trainedBy}\`)`).join(', ')}`;
  lines.push('', `Every part was trained by \`ppgn train ${card.entry}\`${except} (resumable; seeds in card.json).`, '');
  return lines.join('\n');
}
