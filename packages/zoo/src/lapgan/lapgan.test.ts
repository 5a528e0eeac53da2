import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@ppgn/backend';
import { readPyramidManifest, samplePyramid } from '@ppgn/lapgan';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelsRoot } from '../paths.js';
import { readCard } from '../recipes/recipe.js';
import { baselineConfig, cropPadding, LAPGAN_RECIPES, lapganRecipe, paddedImages, pyramidParams } from './recipes.js';
import { lapganPartExists, loadLapganPart, trainLapgan } from './train.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', verbose: false });
});

describe('LAPGAN recipes', () => {
  it('the baseline has about as many parameters as the pyramid (G and D each within 15%)', () => {
    for (const recipe of Object.values(LAPGAN_RECIPES)) {
      const pyramid = pyramidParams(recipe.config);
      const base = baselineConfig(recipe.config);
      expect(base.sizes).toEqual([32]);
      const single = pyramidParams(base);
      expect(Math.abs(single.g / pyramid.g - 1), `${recipe.entry} G`).toBeLessThan(0.15);
      expect(Math.abs(single.d / pyramid.d - 1), `${recipe.entry} D`).toBeLessThan(0.15);
    }
  });

  it('pads mnist to 32x32 with zeros and crops back exactly', async () => {
    const recipe = lapganRecipe('mnist');
    const { test } = await recipe.data();
    const start = tf.memory().numTensors;
    const set = paddedImages(test, recipe.pad);
    const padded = set.images([0, 5, 9]);
    expect(padded.shape).toEqual([3, 32, 32, 1]);
    const original = test.images([0, 5, 9]);
    const back = cropPadding(padded, recipe.pad);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(back, original))).dataSync()[0])).toBe(0);
    const border = tf.tidy(() => tf.sum(padded).sub(tf.sum(original)).abs().dataSync()[0]!);
    expect(border).toBeLessThan(1e-3);
    tf.dispose([padded, original, back]);
    set.dispose();
    expect(tf.memory().numTensors).toBe(start);
    expect(() => lapganRecipe('cifar')).toThrow(/no LAPGAN recipe for entry 'cifar'; entries are mnist, shapes/);
  });
});

describe('training the LAPGAN parts (a few steps, into a scratch zoo)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'zoo-lapgan-'));
    mkdirSync(join(dir, 'models', 'mnist'), { recursive: true });
    // The shipped card without its LAPGAN parts: the scratch zoo starts before them.
    const card = JSON.parse(readFileSync(join(modelsRoot(), 'mnist', 'card.json'), 'utf8'));
    delete card.parts.lapgan;
    delete card.parts.gan;
    writeFileSync(join(dir, 'models', 'mnist', 'card.json'), JSON.stringify(card));
    process.env.PPGN_ZOO_DIR = join(dir, 'models');
    process.env.PPGN_ZOO_WORK = join(dir, 'work');
  });
  afterAll(() => {
    delete process.env.PPGN_ZOO_DIR;
    delete process.env.PPGN_ZOO_WORK;
    rmSync(dir, { recursive: true, force: true });
  });

  it('trains the pyramid level by level, then the baseline for as long; ships both and records them', async () => {
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);
    await expect(trainLapgan('mnist', { backend: 'wasm', parts: ['gan'], stepsScale: 0.001, log })).rejects.toThrow(
      /train the lapgan part first/,
    );
    await trainLapgan('mnist', { backend: 'wasm', parts: ['lapgan'], level: 1, stepsScale: 0.001, log });
    expect(lapganPartExists('mnist', 'lapgan')).toBe(false);
    expect(lines.at(-1)).toMatch(/level 0 is not trained yet/);
    await trainLapgan('mnist', { backend: 'wasm', stepsScale: 0.001, log });
    expect(lapganPartExists('mnist', 'lapgan')).toBe(true);
    expect(lapganPartExists('mnist', 'gan')).toBe(true);
    const manifest = await readPyramidManifest(join(dir, 'models', 'mnist', 'lapgan'));
    expect(manifest.sizes).toEqual([8, 16, 32]);
    expect(manifest.levels.map((l) => [l.steps, l.discriminators])).toEqual([
      [3, false],
      [3, false],
      [2, false],
    ]);
    const card = (await readCard('mnist'))!;
    expect(card.parts.classifier).toBeDefined(); // other parts kept
    expect(card.parts.lapgan!.metrics.levelSteps).toBe('3 / 3 / 2');
    expect(card.parts.gan!.steps).toBeGreaterThan(0);
    expect(Math.abs(card.parts.gan!.parameters / card.parts.lapgan!.parameters - 1)).toBeLessThan(0.15);
    expect(existsSync(join(dir, 'models', 'mnist', 'README.md'))).toBe(true);
    // a second call has nothing to do
    await trainLapgan('mnist', { backend: 'wasm', stepsScale: 0.001, log });
    expect(lines.slice(-2)).toEqual(['mnist/lapgan: already trained (use --force to retrain)', 'mnist/gan: already trained (use --force to retrain)']);
    const start = tf.memory().numTensors;
    const gan = await loadLapganPart('mnist', 'gan');
    expect(gan.sizes).toEqual([32]);
    const s = samplePyramid({ pyramid: gan, n: 2, classIndex: [0, 9], seed: 1 });
    expect(s.images.shape).toEqual([2, 32, 32, 1]);
    s.dispose();
    gan.dispose();
    expect(tf.memory().numTensors).toBe(start);
    await expect(loadLapganPart('shapes', 'lapgan')).rejects.toThrow(/shapes\/lapgan is not trained yet .*run 'ppgn lapgan train shapes'/);
  });
});
