import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ppgn/backend';
import { loadModel } from '@ppgn/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDiscriminator, buildGenerator } from './builders.js';
import { dgnGenerator } from './dgn-generator.js';
import { rectangles, tinyEncoder } from '@ppgn/core/testing';
import { maxDiff, snapshot } from './test-helpers.js';
import { trainGenerator } from './train-generator.js';
import { NonFiniteLossError } from '@ppgn/core';

await initBackend({ backend: 'wasm', verbose: false });

const SHAPE: [number, number, number] = [28, 28, 1];
const LATENT = 16;
const makeG = (seed: number, baseChannels = 16) =>
  buildGenerator({ latentSize: LATENT, imageShape: SHAPE, baseChannels, minChannels: baseChannels / 2, seed });
// tfjs's cpu backend computes conv filter gradients slowly (~1 s per small step): cpu runs a smaller setup.
const SETUP = {
  cpu: { base: 8, batch: 4, steps: 16 },
  wasm: { base: 16, batch: 16, steps: 40 },
};
const makeD = (seed: number) => buildDiscriminator({ imageShape: SHAPE, channels: [8, 8], seed });

let dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'ppgn-gen-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

function imageLoss(G: tf.LayersModel, E: ReturnType<typeof tinyEncoder>, x: tf.Tensor4D): number {
  return tf.tidy(() => tf.mean(tf.squaredDifference(G.apply(E.encode(x)) as tf.Tensor, x)).dataSync()[0]!);
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`trainGenerator on ${backend}`, () => {
    beforeAll(async () => {
      await tf.setBackend(backend);
    });

    it('lowers the image loss on a tiny synthetic set within a few steps', async () => {
      const data = rectangles(64, SHAPE);
      const E = tinyEncoder(SHAPE, LATENT);
      const { base, batch, steps } = SETUP[backend];
      const G = makeG(1, base);
      const before = imageLoss(G, E, data);
      const result = await trainGenerator({
        generator: G,
        encoder: E,
        data,
        batchSize: batch,
        steps,
        seed: 1,
        optimizer: { learningRate: 3e-3 },
        progress: false,
      });
      const after = imageLoss(G, E, data);
      console.log(`[${backend}] image loss on 64 rectangles: ${before.toFixed(4)} -> ${after.toFixed(4)} after ${result.step} steps`);
      expect(result.step).toBe(steps);
      expect(result.history).toHaveLength(steps);
      expect(result.history.at(-1)!.image).toBeLessThan(result.history[0]!.image!);
      expect(after).toBeLessThan(0.6 * before);
      G.dispose();
      E.dispose();
      data.dispose();
    });
  });
}

describe('trainGenerator (wasm)', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  it('resumes from a checkpoint into the same run as an uninterrupted one', async () => {
    const data = rectangles(32, SHAPE, 9);
    const E = tinyEncoder(SHAPE, LATENT);
    const common = {
      encoder: E,
      data,
      batchSize: 8,
      seed: 4,
      noise: { h: 0.1, x: 0.05 },
      losses: { image: 1, code: 0.1, adversarial: 0.05 },
      optimizer: { learningRate: 2e-3 },
      progress: false as const,
    };
    const gA = makeG(1);
    const dA = makeD(2);
    const full = await trainGenerator({ ...common, generator: gA, discriminator: dA, steps: 6 });

    const dir = await tempDir();
    const gB = makeG(1);
    const dB = makeD(2);
    const first = await trainGenerator({ ...common, generator: gB, discriminator: dB, steps: 3, checkpointDir: dir });
    expect(first.checkpoint).toBe(path.join(dir, 'step-00000003'));
    // fresh models with other weights: the checkpoint must replace them
    const gC = makeG(11);
    const dC = makeD(12);
    const resumed = await trainGenerator({ ...common, generator: gC, discriminator: dC, steps: 6, checkpointDir: dir });
    expect(resumed.startStep).toBe(3);
    expect(resumed.history).toHaveLength(3);
    expect(maxDiff(snapshot(gC), snapshot(gA))).toBeLessThan(1e-6);
    expect(maxDiff(snapshot(dC), snapshot(dA))).toBeLessThan(1e-6);
    resumed.history.forEach((l, i) => {
      expect(l.total).toBeCloseTo(full.history[3 + i]!.total!, 6);
    });
    // the checkpointed G is a standard model file
    const loaded = await loadModel(path.join(dir, 'step-00000006', 'G'));
    const h = tf.ones([1, LATENT]);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(loaded.apply(h) as tf.Tensor, gA.apply(h) as tf.Tensor))).dataSync()[0]!);
    expect(diff).toBeLessThan(1e-6);
    // a different setup refuses the checkpoint
    await expect(trainGenerator({ ...common, seed: 5, generator: gC, discriminator: dC, steps: 8, checkpointDir: dir })).rejects.toThrow(
      /was made with a different setup \(seed: checkpoint 4, now 5\)/,
    );
    tf.dispose([h]);
    for (const m of [gA, dA, gB, dB, gC, dC, loaded]) m.dispose();
    E.dispose();
    data.dispose();
  });

  it('stops on a NaN loss with the step number, keeping the last good checkpoint and weights', async () => {
    const dir = await tempDir();
    const clean = rectangles(8, SHAPE, 2);
    const E = tinyEncoder(SHAPE, LATENT);
    const G = makeG(1);
    let afterThree: Float32Array[] = [];
    const run = trainGenerator({
      generator: dgnGenerator(G),
      encoder: E,
      data: (step) => (step === 3 ? tf.fill([8, ...SHAPE], Number.NaN) : tf.clone(clean)) as tf.Tensor4D,
      steps: 10,
      checkpointEvery: 2,
      checkpointDir: dir,
      progress: false,
      onStep: ({ step }) => {
        if (step === 3) afterThree = snapshot(G);
      },
    });
    const err = await run.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    const e = err as NonFiniteLossError;
    expect(e.step).toBe(3);
    expect(e.message).toMatch(/trainGenerator: image is NaN at step 3; training stopped before applying this step's update; last good checkpoint: .*step-00000002 \(step 2\)/);
    expect(e.checkpoint?.step).toBe(2);
    expect((await readdir(dir)).filter((n) => n.startsWith('step-'))).toEqual(['step-00000002']);
    expect(maxDiff(snapshot(G), afterThree)).toBe(0);
    G.dispose();
    E.dispose();
    clean.dispose();
  });

  it('leaks no tensors over training steps (G, D, feature encoder, noise)', async () => {
    const data = rectangles(16, SHAPE);
    const E = tinyEncoder(SHAPE, LATENT);
    const E1 = tinyEncoder(SHAPE, 24, { seed: 8, id: 'features' });
    const G = makeG(1);
    const D = makeD(2);
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    const result = await trainGenerator({
      generator: G,
      encoder: E,
      featureEncoder: E1,
      discriminator: D,
      data,
      batchSize: 4,
      steps: 5,
      noise: { h: 0.1, x: 0.1 },
      losses: { code: 0.1 },
      progress: false,
      onStep: () => counts.push(tf.memory().numTensors),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(new Set(counts).size).toBe(1);
    expect(Object.keys(result.history[0]!).sort()).toEqual(
      ['adversarial', 'code', 'discriminator', 'feature', 'gradNormD', 'gradNormG', 'image', 'total'].sort(),
    );
    for (const m of [G, D, E, E1]) m.dispose();
    data.dispose();
  });

  it('trains a batch-norm generator, updating its moving statistics', async () => {
    const data = rectangles(16, SHAPE);
    const E = tinyEncoder(SHAPE, LATENT);
    const G = buildGenerator({ latentSize: LATENT, imageShape: SHAPE, baseChannels: 8, batchNorm: true, seed: 1 });
    const movingMean = () => Array.from(G.weights.find((w) => w.name.includes('moving_mean'))!.read().dataSync());
    const m0 = movingMean();
    const before = tf.memory().numTensors;
    const result = await trainGenerator({ generator: G, encoder: E, data, batchSize: 4, steps: 3, progress: false });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.history.every((l) => Number.isFinite(l.total))).toBe(true);
    expect(movingMean()).not.toEqual(m0);
    G.dispose();
    E.dispose();
    data.dispose();
  });

  it('applies the GAN pause rule from the previous step\'s lossD/lossG', async () => {
    const data = rectangles(16, SHAPE);
    const E = tinyEncoder(SHAPE, LATENT);
    const G = makeG(1);
    const D = makeD(2);
    let dAfterFirst: Float32Array[] = [];
    // ratio ~1 is always below 100: D trains on the first step only
    const r1 = await trainGenerator({
      generator: G,
      encoder: E,
      discriminator: D,
      data,
      batchSize: 4,
      steps: 4,
      pauseDiscriminatorBelow: 100,
      progress: false,
      onStep: ({ step }) => {
        if (step === 1) dAfterFirst = snapshot(D);
      },
    });
    expect(r1.paused).toEqual({ discriminator: 3, adversarial: 0 });
    expect(maxDiff(snapshot(D), dAfterFirst)).toBe(0);
    expect(r1.history.slice(1).every((l) => l.gradNormD === undefined)).toBe(true);
    // ratio ~1 is always above 0.5: G's adversarial term pauses after the first step
    const r2 = await trainGenerator({
      generator: G,
      encoder: E,
      discriminator: D,
      data,
      batchSize: 4,
      steps: 3,
      pauseAdversarialAbove: 0.5,
      losses: { image: 0, adversarial: 1 },
      progress: false,
    });
    expect(r2.paused).toEqual({ discriminator: 0, adversarial: 2 });
    // with only the adversarial term, a paused step has a zero G loss and gradient
    expect(r2.history[0]!.total).toBeGreaterThan(0);
    expect(r2.history[1]!.total).toBe(0);
    expect(r2.history[1]!.gradNormG).toBe(0);
    for (const m of [G, D, E]) m.dispose();
    data.dispose();
  });

  it('trains a Joint PPGN-h setup (code loss, noise on x, h and h1 through E = E2(E1(x)))', async () => {
    const data = rectangles(32, SHAPE, 5);
    const E1 = tinyEncoder(SHAPE, 24, { seed: 8, id: 'E1' });
    const head = tf.sequential({ layers: [tf.layers.dense({ inputShape: [24], units: LATENT, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) })] });
    const featureHead = (h1: tf.Tensor2D) => head.apply(h1) as tf.Tensor2D;
    const E = { ...E1, id: 'E', codeShape: [LATENT], encode: (x: tf.Tensor4D) => tf.tidy(() => featureHead(E1.encode(x))) };
    const G = makeG(1);
    const codeLoss = () =>
      tf.tidy(() => {
        const h = E.encode(data);
        return tf.mean(tf.squaredDifference(E.encode(G.apply(h) as tf.Tensor4D), h)).dataSync()[0]!;
      });
    const before = codeLoss();
    const result = await trainGenerator({
      generator: G,
      encoder: E,
      featureEncoder: E1,
      featureHead,
      data,
      batchSize: 8,
      steps: 30,
      seed: 2,
      losses: { image: 1, feature: 0.1, code: 1 },
      noise: { x: 0.05, h: 0.05, h1: 0.05 },
      optimizer: { learningRate: 3e-3 },
      progress: false,
    });
    const after = codeLoss();
    console.log(`[wasm] Joint PPGN-h code loss ||E(G(E(x))) - E(x)||^2: ${before.toFixed(4)} -> ${after.toFixed(4)}`);
    expect(result.history.every((l) => Number.isFinite(l.total))).toBe(true);
    expect(after).toBeLessThan(before);
    await expect(
      trainGenerator({ generator: G, encoder: E, featureEncoder: E1, data, steps: 1, noise: { h1: 0.1 }, progress: false }),
    ).rejects.toThrow('trainGenerator: noise.h1 needs both a featureEncoder (E1) and a featureHead (E2, h = E2(h1))');
    for (const m of [G, head, E1]) m.dispose();
    data.dispose();
  });

  it('refuses mismatched parts, naming both sides', async () => {
    const data = rectangles(4, SHAPE);
    const G = makeG(1);
    const E = tinyEncoder(SHAPE, 32);
    const E32 = tinyEncoder([32, 32, 3], LATENT);
    await expect(trainGenerator({ generator: G, encoder: E, data, steps: 1, progress: false })).rejects.toThrow(
      'trainGenerator: the encoder gives 32-d codes but the generator takes 16-d h',
    );
    await expect(trainGenerator({ generator: G, encoder: E32, data, steps: 1, progress: false })).rejects.toThrow(
      'trainGenerator: the encoder takes 32x32x3 images but the generator makes 28x28x1',
    );
    const E16 = tinyEncoder(SHAPE, LATENT);
    await expect(
      trainGenerator({ generator: G, encoder: E16, discriminator: buildDiscriminator({ imageShape: [32, 32, 3] }), data, steps: 1, progress: false }),
    ).rejects.toThrow('trainGenerator: the discriminator takes [batch, 32, 32, 3] but the generator makes 28x28x1 images');
    await expect(trainGenerator({ generator: G, encoder: E16, data, steps: 1, losses: { feature: 1 }, progress: false })).rejects.toThrow(
      /losses.feature is 1 but no featureEncoder was given/,
    );
    await expect(
      trainGenerator({ generator: G, encoder: E16, data: rectangles(4, [32, 32, 3]), steps: 1, progress: false }),
    ).rejects.toThrow('trainGenerator: data batch: expected 28x28x1 images, got 32x32x3');
    for (const m of [G, E, E32, E16]) m.dispose();
    data.dispose();
  });
});
