import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@ppgn/backend';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entrySpec } from './entries.js';
import { loadZoo, VARIANT_NAMES, type ZooEntry } from './load.js';
import { modelsRoot } from './paths.js';
import { classifierAccuracy } from './train-classifier.js';
import { sampleClass } from './sample-class.js';

describe('the shipped mnist zoo entry', () => {
  let zoo: ZooEntry;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    zoo = await loadZoo('mnist');
  });
  afterAll(() => zoo?.dispose());

  it('loads every part the five variants need, with its model card', () => {
    expect(zoo.classNames).toHaveLength(10);
    expect(zoo.generator.imageShape).toEqual([28, 28, 1]);
    expect(zoo.generator.latentShape).toEqual([entrySpec('mnist').codeSize]);
    expect(zoo.encoder.codeShape).toEqual(zoo.generator.latentShape);
    for (const part of ['classifier', 'evaluator', 'generator', 'generator-joint', 'h-dae', 'x-dae']) {
      expect(zoo.card.parts[part], part).toBeDefined();
      expect(zoo.card.parts[part]!.trainSeconds).toBeGreaterThan(0);
    }
    for (const v of VARIANT_NAMES) expect(zoo.variant(v).generator).toBeDefined();
    expect(zoo.variant('ppgn-x').prior?.space).toBe('x');
    expect(zoo.variant('ppgn-h').prior?.space).toBe('h');
    expect(zoo.variant('dgn-am').prior).toBeUndefined();
  });

  it('ships a condition classifier that reaches >= 98% on the held-out digits, as its card says', async () => {
    const { test } = await zoo.spec.recipe.data();
    const acc = classifierAccuracy(zoo.classifier, test);
    expect(acc).toBeGreaterThanOrEqual(0.98);
    expect(acc).toBeCloseTo(zoo.card.parts.classifier!.metrics.testAccuracy as number, 3);
  });

  it('G inverts E: reconstructions of held-out digits are close and classified as the original', async () => {
    const { test } = await zoo.spec.recipe.data();
    const [mse, agree] = tf.tidy(() => {
      const x = test.images({ start: 0, end: 200 });
      const xr = zoo.generator.generate(zoo.encoder.encode(x));
      const same = tf.equal(tf.argMax(zoo.classifier.predict(xr) as tf.Tensor, -1), tf.tensor1d(Array.from(test.labels.slice(0, 200)), 'int32'));
      return [tf.mean(tf.square(tf.sub(xr, x))).dataSync()[0]!, tf.mean(tf.cast(same, 'float32')).dataSync()[0]!];
    });
    expect(mse).toBeLessThan(0.03);
    expect(agree).toBeGreaterThan(0.9);
  });

  it('samples a class with every variant, and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    for (const variant of VARIANT_NAMES) {
      const result = await sampleClass(zoo, { classIndex: 7, variant, n: 2, seed: 3, settings: { steps: 6, saveEvery: 3 } });
      expect(result.images.shape).toEqual([2, 28, 28, 1]);
      expect(result.frames.map((f) => f.step)).toEqual([0, 3, 6]);
      expect(result.logProb?.every(Number.isFinite)).toBe(true);
      result.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a short chain raises log p(class) from its start', async () => {
    const result = await sampleClass(zoo, { classIndex: 4, variant: 'noiseless-joint-ppgn-h', n: 4, seed: 5, settings: { steps: 30, saveEvery: 30 } });
    const condition = zoo.classCondition(4);
    const first = tf.tidy(() => condition.logProb(tf.tensor4d(result.frames[0]!.images, result.frames[0]!.shape)).arraySync());
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    expect(mean(result.logProb!)).toBeGreaterThan(mean(first));
    result.dispose();
  });
});

describe('loading errors', () => {
  it('names an unknown entry and lists the entries', async () => {
    await expect(loadZoo('cifar100')).rejects.toThrow("zoo: unknown entry 'cifar100'; entries are mnist");
  });

  it('names a missing part and how to train it, and a corrupted weights file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ppgn-zoo-'));
    const previous = process.env.PPGN_ZOO_DIR;
    const shipped = modelsRoot();
    try {
      cpSync(join(shipped, 'mnist'), join(dir, 'mnist'), { recursive: true });
      process.env.PPGN_ZOO_DIR = dir;
      rmSync(join(dir, 'mnist', 'generator'), { recursive: true });
      await expect(loadZoo('mnist')).rejects.toThrow(/part 'generator' is missing at .*; train it with 'ppgn train mnist'/);
      cpSync(join(shipped, 'mnist', 'generator'), join(dir, 'mnist', 'generator'), { recursive: true });
      const bin = readdirSync(join(dir, 'mnist', 'classifier')).find((f) => f.endsWith('.bin'))!;
      rmSync(join(dir, 'mnist', 'classifier', bin));
      await expect(loadZoo('mnist')).rejects.toThrow(/classifier.*\.bin/);
      expect(existsSync(join(shipped, 'mnist', 'classifier', bin))).toBe(true);
    } finally {
      if (previous === undefined) delete process.env.PPGN_ZOO_DIR;
      else process.env.PPGN_ZOO_DIR = previous;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the shipped shapes zoo entry (32x32 RGB)', () => {
  it('loads, samples a colour class with the joint variant, and leaks nothing', async () => {
    await initBackend({ backend: 'wasm' });
    const zoo = await loadZoo('shapes');
    try {
      expect(zoo.generator.imageShape).toEqual([32, 32, 3]);
      expect(zoo.classNames).toContain('red circle');
      const before = tf.memory().numTensors;
      const result = await sampleClass(zoo, { classIndex: 'red circle', variant: 'noiseless-joint-ppgn-h', n: 2, seed: 1, settings: { steps: 20, saveEvery: 20 } });
      expect(result.images.shape).toEqual([2, 32, 32, 3]);
      // a red object: the red channel leads somewhere in each image
      const redLead = tf.tidy(() => {
        const [r, g, b] = tf.split(result.images, 3, 3);
        return tf.max(tf.sub(r!, tf.maximum(g!, b!)), [1, 2, 3]).arraySync() as number[];
      });
      for (const lead of redLead) expect(lead).toBeGreaterThan(0.3);
      result.dispose();
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      zoo.dispose();
    }
  });
});
