import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@ppgn/backend';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mnistRecipe } from './mnist.js';
import { trainEntry } from './recipe.js';

describe('trainEntry (the recipes behind ppgn train)', () => {
  let root: string;
  const saved = { dir: process.env.PPGN_ZOO_DIR, work: process.env.PPGN_ZOO_WORK, quiet: process.env.PPGN_QUIET };
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ppgn-recipe-'));
    process.env.PPGN_ZOO_DIR = join(root, 'models');
    process.env.PPGN_ZOO_WORK = join(root, 'work');
    process.env.PPGN_QUIET = '1';
  });
  afterEach(() => {
    for (const [key, env] of [['PPGN_ZOO_DIR', saved.dir], ['PPGN_ZOO_WORK', saved.work], ['PPGN_QUIET', saved.quiet]] as const) {
      if (env === undefined) delete process.env[key];
      else process.env[key] = env;
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('trains a stage on the real data, saves the part and records it in the card; a rerun skips it', async () => {
    const lines: string[] = [];
    const card = await trainEntry(mnistRecipe, { backend: 'wasm', stages: ['evaluator'], stepsScale: 0.002, log: (l) => lines.push(l) });
    expect(existsSync(join(root, 'models', 'mnist', 'evaluator', 'model.json'))).toBe(true);
    expect(card.parts.evaluator!.steps).toBe(5);
    expect(card.parts.evaluator!.metrics.testAccuracy).toBeGreaterThan(0.1);
    const onDisk = JSON.parse(readFileSync(join(root, 'models', 'mnist', 'card.json'), 'utf8'));
    expect(onDisk.parts.evaluator.steps).toBe(5);
    // checkpoints of the stage stay in the work folder, so an interrupted run resumes
    expect(existsSync(join(root, 'work', 'mnist', 'evaluator', 'latest.json'))).toBe(true);
    await trainEntry(mnistRecipe, { backend: 'wasm', stages: ['evaluator'], stepsScale: 0.002, log: (l) => lines.push(l) });
    expect(lines.at(-1)).toMatch(/already trained \(use --force to retrain\)/);
  });

  it('refuses an unknown stage and a stage whose inputs are not trained', async () => {
    await expect(trainEntry(mnistRecipe, { backend: 'wasm', stages: ['decoder'] })).rejects.toThrow(
      "train mnist: unknown stage 'decoder'; stages are classifier, evaluator, generator, generator-joint, h-dae, x-dae",
    );
    await expect(trainEntry(mnistRecipe, { backend: 'wasm', stages: ['h-dae'] })).rejects.toThrow(
      "stage 'h-dae' needs 'classifier', which is not trained yet",
    );
  });
});
