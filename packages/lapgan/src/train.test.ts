import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { NonFiniteLossError, Rng } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toImageSet } from './data.js';
import { createLevel, type PyramidLevel } from './level.js';
import { generateBase, generateResidual } from './networks.js';
import { resolveOptimizer } from './optimizer.js';
import { resize, upsample } from './resize.js';
import { oneHot } from './sample.js';
import { type LevelSpec, levelSpecs, type PyramidConfig, type RefineLevelOptions } from './spec.js';
import { BACKENDS, tinyConfig, toyData, useBackend } from './test-helpers.js';
import { LevelTrainer, type TrainerSettings, trainLevel, type UpdateMode } from './train.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lapgan-train-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * How far G's fakes are from the data, on a fixed batch: for the base level, the squared
 * distance between per-class mean images of fakes and of real images; for a finer level,
 * the mean squared difference between l + G(z, y, l) and the real image.
 */
function fakeError(spec: LevelSpec, level: PyramidLevel, data: { images: tf.Tensor4D; labels: number[] }, classes: number): number {
  return tf.tidy(() => {
    const n = data.labels.length;
    const onehot = oneHot(data.labels, classes);
    const g = level.nets[0]!.g;
    const real = tf.sub(tf.mul(resize(data.images, spec.size), 2), 1);
    if (spec.kind === 'base') {
      const fake = generateBase(spec, g, new Rng(99).uniformTensor([n, spec.noiseDim], -1, 1) as tf.Tensor2D, onehot);
      let err = 0;
      for (let c = 0; c < classes; c++) {
        const idx = tf.tensor1d(
          data.labels.flatMap((l, i) => (l === c ? [i] : [])),
          'int32',
        );
        err += tf.mean(tf.square(tf.sub(tf.mean(tf.gather(fake, idx), 0), tf.mean(tf.gather(real, idx), 0)))).dataSync()[0]!;
      }
      return err / classes;
    }
    const l = tf.sub(tf.mul(upsample(resize(data.images, spec.inputSize), spec.size), 2), 1) as tf.Tensor4D;
    const z = new Rng(99).uniformTensor([n, spec.size, spec.size, 1], -1, 1) as tf.Tensor4D;
    return tf.mean(tf.square(tf.sub(tf.add(l, generateResidual(spec, g, z, onehot, l)), real))).dataSync()[0]!;
  });
}

function settings(levelIndex: number, update: UpdateMode, batchSize: number, extra: Partial<TrainerSettings> = {}): TrainerSettings {
  return { levelIndex, batchSize, seed: 1, optimizer: resolveOptimizer('adam', 2e-3), gating: null, update, ...extra };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

for (const backend of BACKENDS) {
  // The cpu backend's conv filter gradient is slow: a smaller pyramid and batch there.
  const config: PyramidConfig = backend === 'cpu' ? tinyConfig({ sizes: [4, 8] }) : tinyConfig();
  // Less dropout in D: a steadier signal over runs this short.
  config.base = { ...config.base, dropout: 0.25 };
  config.refine = { ...(config.refine as RefineLevelOptions), dropout: 0.25 };
  const batch = backend === 'cpu' ? 8 : 16;
  const lr = backend === 'cpu' ? 4e-3 : 2e-3;
  const steps = backend === 'cpu' ? 32 : 40;
  const specs = levelSpecs(config);

  describe(`training (${backend})`, () => {
    specs.forEach((spec, k) => {
      it(`level ${k} (${spec.kind}): D learns to tell real from fake, G learns to fool D, and together they move fakes toward the data`, async () => {
        await useBackend(backend);
        const data = toyData(48, config.sizes[config.sizes.length - 1]!, 3, 3);
        const set = toImageSet(data);
        const train = (level: PyramidLevel, update: UpdateMode) => {
          const trainer = new LevelTrainer(level, set, settings(k, update, batch, { optimizer: resolveOptimizer('adam', lr) }));
          for (let i = 0; i < steps; i++) trainer.trainStep();
          trainer.dispose();
          return trainer.history;
        };
        // D alone: starts near chance (2 ln 2 = 1.386 for real + fake) and learns
        const level = createLevel(spec, { seed: 1 });
        const start = fakeError(spec, level, data, 3);
        const d = train(level, 'd');
        expect(d.dLoss[0]).toBeGreaterThan(0.9);
        expect(d.dLoss[0]).toBeLessThan(2);
        expect(mean(d.dLoss.slice(-4))).toBeLessThan(d.dLoss[0]! - 0.3);
        expect(fakeError(spec, level, data, 3)).toBeCloseTo(start, 6); // G untouched
        // then G alone, against that D: learns to fool it
        const g = train(level, 'g');
        expect(mean(g.gLoss.slice(-4))).toBeLessThan(mean(g.gLoss.slice(0, 2)) - 0.15);
        level.dispose();
        // both, alternating: the fakes move toward the data
        const fresh = createLevel(spec, { seed: 1 });
        train(fresh, 'both');
        expect(fakeError(spec, fresh, data, 3)).toBeLessThan(0.8 * start);
        fresh.dispose();
        data.images.dispose();
      });
    });

    it('leaks no tensors over training steps (with gating and dropout)', async () => {
      await useBackend(backend);
      const start = tf.memory().numTensors;
      const data = toyData(12, 8, 3, 3);
      const spec = levelSpecs(tinyConfig({ sizes: [4, 8] }))[1]!;
      const level = createLevel(spec, { seed: 1 });
      const trainer = new LevelTrainer(level, toImageSet(data), settings(1, 'both', 4, { gating: { margin: 0.3, realThreshold: 0.7 } }));
      const updates = [trainer.trainStep().updated];
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) updates.push(trainer.trainStep().updated);
      expect(tf.memory().numTensors).toBe(before);
      // the gate: only D when errFake > errReal + 0.3 or errReal > 0.7, else only G
      const h = trainer.history;
      expect(updates).toEqual(h.dLoss.map((_, i) => (h.dReal[i]! > 0.7 || h.dFake[i]! > h.dReal[i]! + 0.3 ? 'd' : 'g')));
      trainer.dispose();
      level.dispose();
      data.images.dispose();
      expect(tf.memory().numTensors).toBe(start);
    });

    it('resuming from a checkpoint continues the same run exactly', async () => {
      await useBackend(backend);
      const data = toyData(10, 8, 3, 3);
      const cfg = tinyConfig({ sizes: [4, 8] });
      const common = { config: cfg, level: 1, data, batchSize: 4, seed: 3, progress: false, lr: 1e-3 } as const;
      const straight = await trainLevel({ ...common, steps: 4 });
      const dir = path.join(root, `${backend}-resume`);
      const first = await trainLevel({ ...common, steps: 2, checkpointDir: dir, checkpointEvery: 1 });
      expect(first.resumedFrom).toBeNull();
      first.level.dispose();
      const second = await trainLevel({ ...common, steps: 4, checkpointDir: dir });
      expect(second.resumedFrom).toBe(2);
      expect(second.step).toBe(4);
      // the resumed call ran steps 3 and 4, with the losses of the uninterrupted run
      expect(second.history.dLoss).toEqual(straight.history.dLoss.slice(2));
      expect(second.history.gLoss).toEqual(straight.history.gLoss.slice(2));
      const w1 = straight.level.nets[0]!.g.getWeights().concat(straight.level.nets[0]!.d!.getWeights());
      const w2 = second.level.nets[0]!.g.getWeights().concat(second.level.nets[0]!.d!.getWeights());
      w1.forEach((w, i) => {
        expect(Array.from(w2[i]!.dataSync())).toEqual(Array.from(w.dataSync()));
      });
      expect(second.checkpoint).toBe(path.join(dir, 'step-00000004'));
      expect(JSON.parse(await readFile(path.join(dir, 'latest.json'), 'utf8'))).toMatchObject({ step: 4, path: 'step-00000004' });
      // a resumed run must keep the settings
      await expect(trainLevel({ ...common, batchSize: 5, steps: 6, checkpointDir: dir })).rejects.toThrow(
        /was made with a different setup \(batchSize: checkpoint 4, now 5\)/,
      );
      // nothing left to do: returns the checkpoint's level
      const again = await trainLevel({ ...common, steps: 4, checkpointDir: dir });
      expect(again.msPerStep).toBeNaN();
      expect(again.level.info.steps).toBe(4);
      for (const r of [straight, second, again]) r.level.dispose();
      data.images.dispose();
    });

    it('stops on a NaN loss with the step number, keeping the last good checkpoint', async () => {
      await useBackend(backend);
      const data = toyData(8, 8, 3, 3);
      const cfg = tinyConfig({ sizes: [4, 8] });
      const dir = path.join(root, `${backend}-nan`);
      const ok = await trainLevel({ config: cfg, level: 0, data, steps: 2, batchSize: 4, checkpointDir: dir, progress: false });
      ok.level.dispose();
      const pointer = await readFile(path.join(dir, 'latest.json'), 'utf8');
      const bad = { images: tf.mul(data.images, Number.NaN) as tf.Tensor4D, labels: data.labels };
      const before = tf.memory().numTensors;
      const error = await trainLevel({ config: cfg, level: 0, data: bad, steps: 5, batchSize: 4, checkpointDir: dir, progress: false }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(NonFiniteLossError);
      expect((error as NonFiniteLossError).step).toBe(2); // 0-based: the third step
      expect((error as Error).message).toMatch(
        /level 0 \(base 4x4\): dReal is NaN at step 2; training stopped before applying this step's update; last good checkpoint: .*step-00000002 \(step 2\)/,
      );
      expect(await readFile(path.join(dir, 'latest.json'), 'utf8')).toBe(pointer);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([data.images, bad.images]);
    });

    it('trains per-class levels on each class and checks the labels', async () => {
      await useBackend(backend);
      const data = toyData(12, 8, 3, 3);
      const cfg = tinyConfig({ sizes: [4, 8], perClass: true });
      const result = await trainLevel({ config: cfg, level: 1, data, steps: 2, batchSize: 4, progress: false });
      expect(result.level.nets).toHaveLength(3);
      const fresh = createLevel(result.level.spec, { seed: 0 });
      expect(fresh.nets).toHaveLength(3);
      fresh.dispose();
      result.level.dispose();
      await expect(trainLevel({ config: cfg, level: 1, data: { images: data.images }, steps: 1, progress: false })).rejects.toThrow(
        /level 1 \(refine 4x4 -> 8x8\): the level is conditional \(3 classes\) but the data has no labels/,
      );
      await expect(
        trainLevel({ config: cfg, level: 1, data: { images: data.images, labels: data.labels.map(() => 0) }, steps: 1, progress: false }),
      ).rejects.toThrow(/no training images of class 1/);
      await expect(trainLevel({ config: cfg, level: 2, data, steps: 1, progress: false })).rejects.toThrow(/level 2 does not exist/);
      data.images.dispose();
    });

    it('SGD with momentum trains too', async () => {
      await useBackend(backend);
      const data = toyData(16, 8, 3, 3);
      const result = await trainLevel({
        config: tinyConfig({ sizes: [4, 8] }),
        level: 0,
        data,
        steps: 12,
        batchSize: 8,
        optimizer: { type: 'sgd', lr: 0.05, momentum: 0.5 },
        update: 'd',
        progress: false,
      });
      expect(mean(result.history.dLoss.slice(-3))).toBeLessThan(result.history.dLoss[0]! - 0.1);
      result.level.dispose();
      data.images.dispose();
    });
  });
}
