import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ppgn/backend';
import { Rng } from '@ppgn/core';
import { NonFiniteLossError } from '@ppgn/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHDae, daePrior, trainHDae } from './h-dae.js';
import { rectangles } from '@ppgn/core/testing';
import { distanceToSubspace, maxAbsDiff, subspace } from './test-helpers.js';
import { denoisingError } from './train-denoiser.js';
import { buildXDae, pixelDaePrior, trainXDae } from './x-dae.js';

await initBackend({ backend: 'wasm', verbose: false });

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`h DAE on ${backend}`, () => {
    beforeAll(async () => {
      await tf.setBackend(backend);
    });

    it('learns codes on a 3-d subspace of R^16; gradLogProb then moves h toward the subspace', async () => {
      const sigma = 0.3;
      const space = subspace(16, 3);
      const train = space.sample(1024, new Rng(1));
      const test = space.sample(256, new Rng(2));
      const dae = buildHDae({ size: 16, seed: 1 });
      const before = denoisingError(dae, test, sigma, new Rng(3));
      const numTensors = tf.memory().numTensors;
      const result = await trainHDae({ dae, codes: train, sigma, steps: 300, batchSize: 64, seed: 1, progress: false });
      expect(tf.memory().numTensors).toBe(numTensors);
      const after = denoisingError(dae, test, sigma, new Rng(3));
      // an identity map would leave the whole noise: 16 * 0.09 / 16 = sigma^2 per element
      console.log(
        `[${backend}] h-DAE denoising MSE (sigma ${sigma}, identity ${(sigma ** 2).toFixed(2)}): ${before.toFixed(4)} -> ${after.toFixed(4)}; ` +
          `train loss ${result.history[0]!.loss!.toFixed(4)} -> ${result.history.at(-1)!.loss!.toFixed(4)}`,
      );
      expect(after).toBeLessThan(0.5 * before);
      expect(after).toBeLessThan(0.5 * sigma ** 2);

      // h off the subspace, then plain steps along the prior's direction
      const prior = daePrior({ dae, sigma });
      const x = tf.zeros([1, 1, 1, 1]) as tf.Tensor4D;
      let h = tf.tidy(() => tf.add(test, new Rng(4).normalTensor(test.shape, 0, sigma)));
      const d0 = distanceToSubspace(h, space.basis);
      for (let i = 0; i < 5; i++) {
        const next = tf.tidy(() => tf.add(h, tf.mul(prior.gradLogProb(h, x), 0.2 * sigma ** 2)));
        h.dispose();
        h = next;
      }
      const d5 = distanceToSubspace(h, space.basis);
      console.log(`[${backend}] mean distance to the subspace: ${d0.toFixed(3)} -> ${d5.toFixed(3)} after 5 prior steps`);
      expect(d5).toBeLessThan(0.6 * d0);
      prior.dispose();
      tf.dispose([h, x, train, test, space.basis]);
    });
  });
}

describe('training DAEs (wasm)', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  it('trains a pixel DAE that denoises better than doing nothing; its prior points at R(x)', async () => {
    const sigma = 0.2;
    const images = rectangles(128, [28, 28, 1]);
    const held = rectangles(32, [28, 28, 1], 99);
    const dae = buildXDae({ imageShape: [28, 28, 1], channels: [8, 16], seed: 1 });
    const before = denoisingError(dae, held, sigma, new Rng(5));
    const result = await trainXDae({ dae, images, sigma, steps: 60, batchSize: 16, optimizer: { learningRate: 3e-3 }, progress: false });
    const after = denoisingError(dae, held, sigma, new Rng(5));
    console.log(
      `[wasm] x-DAE denoising MSE (sigma ${sigma}, identity ${(sigma ** 2).toFixed(2)}): ${before.toFixed(4)} -> ${after.toFixed(4)}; ` +
        `train loss ${result.history[0]!.loss!.toFixed(4)} -> ${result.history.at(-1)!.loss!.toFixed(4)}`,
    );
    expect(after).toBeLessThan(0.5 * before);
    expect(after).toBeLessThan(sigma ** 2);
    // x + sigma^2 * gradLogProb(x) = R(x)
    const prior = pixelDaePrior({ dae, sigma });
    const noisy = tf.tidy(() => tf.add(held, new Rng(6).normalTensor(held.shape, 0, sigma))) as tf.Tensor4D;
    const stepped = tf.tidy(() => tf.add(noisy, tf.mul(prior.gradLogProb(tf.zeros([32, 1]), noisy), sigma ** 2)));
    const r = dae.predict(noisy) as tf.Tensor;
    expect(maxAbsDiff(stepped, r)).toBeLessThan(1e-4);
    const err = (t: tf.Tensor) => tf.tidy(() => tf.mean(tf.squaredDifference(t, held)).dataSync()[0]!);
    expect(err(stepped)).toBeLessThan(err(noisy));
    prior.dispose();
    tf.dispose([images, held, noisy, stepped, r]);
  });

  it('resumes trainHDae from a checkpoint (iterator data) into the same run', async () => {
    const space = subspace(8, 2, 5);
    async function* batches() {
      for (let i = 0; ; i++) yield space.sample(16, new Rng(100 + i));
    }
    const common = { sigma: 0.2, seed: 3, progress: false as const, optimizer: { learningRate: 3e-3 } };
    const a = buildHDae({ size: 8, hidden: [16, 4, 16], seed: 1 });
    const full = await trainHDae({ ...common, dae: a, codes: batches(), steps: 12 });
    const dir = await mkdtemp(path.join(tmpdir(), 'ppgn-dae-'));
    dirs.push(dir);
    const b = buildHDae({ size: 8, hidden: [16, 4, 16], seed: 1 });
    await trainHDae({ ...common, dae: b, codes: batches(), steps: 5, checkpointDir: dir });
    const c = buildHDae({ size: 8, hidden: [16, 4, 16], seed: 9 });
    const resumed = await trainHDae({ ...common, dae: c, codes: batches(), steps: 12, checkpointDir: dir, checkpointEvery: 4 });
    expect(resumed.startStep).toBe(5);
    expect(resumed.checkpoint).toBe(path.join(dir, 'step-00000012'));
    a.getWeights().forEach((w, i) => {
      expect(maxAbsDiff(w, c.getWeights()[i]!)).toBeLessThan(1e-6);
    });
    resumed.history.forEach((l, i) => {
      expect(l.loss).toBeCloseTo(full.history[5 + i]!.loss!, 6);
    });
    for (const m of [a, b, c]) m.dispose();
    space.basis.dispose();
  });

  it('stops on a NaN loss with the step number', async () => {
    const dae = buildHDae({ size: 4, hidden: [8], seed: 1 });
    const err = await trainHDae({
      dae,
      codes: (step, n) => (step === 5 ? tf.fill([n, 4], Number.NaN) : tf.ones([n, 4])) as tf.Tensor2D,
      sigma: 0.1,
      steps: 10,
      batchSize: 4,
      progress: false,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as NonFiniteLossError).step).toBe(5);
    expect((err as Error).message).toMatch(/^trainHDae: loss is NaN at step 5; training stopped before applying this step's update; no checkpoint was written$/);
    expect(dae.getWeights().every((w) => tf.tidy(() => tf.all(tf.isFinite(w)).dataSync()[0] === 1))).toBe(true);
    await expect(trainHDae({ dae, codes: tf.ones([4, 5]) as tf.Tensor2D, sigma: 0.1, steps: 1, progress: false })).rejects.toThrow(
      'trainHDae: the DAE maps 4-d codes but a batch of codes is [1, 5]',
    );
    dae.dispose();
  });
});
