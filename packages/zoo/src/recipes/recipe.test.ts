import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@ppgn/backend';
import { loadModel, saveModel } from '@ppgn/core';
import { mnist } from '@ppgn/data';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildConditionClassifier } from '../architectures.js';
import { mnistRecipe } from './mnist.js';
import { ppgnRecipe } from './ppgn-recipe.js';
import { trainEntry } from './recipe.js';

/** A tiny entry on the real digits whose only extra stage is a G trained in two phases. */
const phasedRecipe = ppgnRecipe({
  entry: 'tiny',
  description: 'tiny entry for tests',
  dataDescription: 'mnist',
  split: 'mnist split',
  imageShape: [28, 28, 1],
  classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  data: async () => ({ train: await mnist({ split: 'train' }), test: await mnist({ split: 'test' }) }),
  codeSize: 16,
  maxShift: 0,
  steps: { classifier: 2, evaluator: 2, generator: 2, joint: 2, hDae: 2, xDae: 2 },
  generator: { fcUnits: [32], baseChannels: 8 },
  discriminatorChannels: [8],
  hDaeSigma: 0.5,
  xDaeSigma: 0.2,
  extraStages: (build) => [
    build.generator({
      name: 'generator-phased',
      summary: 'G in two phases',
      seed: 5,
      steps: 3,
      losses: { image: 1, feature: 0.1, adversarial: 0.01 },
      laterPhases: [{ steps: 2, losses: { image: 1, feature: 1, adversarial: 0.01 }, learningRate: 1e-4 }],
    }),
  ],
});

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

  it('trains a generator stage phase after phase, each in its own checkpoint folder, and records every phase', async () => {
    // G needs an encoder part, not a good one: an untrained classifier stands in.
    const classifier = buildConditionClassifier([28, 28, 1], 10, 16, 1);
    await saveModel(classifier, join(root, 'models', 'tiny', 'classifier'));
    classifier.dispose();
    const tensors = tf.memory().numTensors;
    const card = await trainEntry(phasedRecipe, { backend: 'wasm', stages: ['generator-phased'], log: () => {} });
    const part = card.parts['generator-phased']!;
    expect(part.steps).toBe(5);
    expect(JSON.parse(part.metrics.losses as string)).toEqual([
      { steps: 3, image: 1, feature: 0.1, adversarial: 0.01, learningRate: 2e-4 },
      { steps: 2, image: 1, feature: 1, adversarial: 0.01, learningRate: 1e-4 },
    ]);
    const work = join(root, 'work', 'tiny', 'generator-phased');
    expect(existsSync(join(work, 'step-00000003', 'checkpoint.json'))).toBe(true);
    expect(existsSync(join(work, 'phase-2', 'step-00000002', 'checkpoint.json'))).toBe(true);
    const weights = async () => {
      const G = await loadModel(join(root, 'models', 'tiny', 'generator-phased'));
      const values = tf.tidy(() => tf.concat(G.getWeights().map((w) => tf.reshape(w, [-1]))).dataSync());
      G.dispose();
      return values;
    };
    const trained = await weights();
    // A rerun restores both phases from their checkpoints and ends at the same G, trains nothing.
    const again = await trainEntry(phasedRecipe, { backend: 'wasm', stages: ['generator-phased'], force: true, log: () => {} });
    expect(again.parts['generator-phased']!.metrics.finalLosses).toBe('{}');
    expect(await weights()).toEqual(trained);
    expect(tf.memory().numTensors).toBe(tensors);
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
