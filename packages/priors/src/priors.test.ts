import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ppgn/backend';
import { Rng } from '@ppgn/core';
import { describePriorContract, tinyEncoder } from '@ppgn/core/testing';
import { buildGenerator, dgnGenerator } from '@ppgn/generator';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildHDae, daePrior, hDaeHiddenUnits } from './h-dae.js';
import { jointPrior } from './joint-prior.js';
import { gaussianPrior, l2DecayPrior } from './simple-priors.js';
import { maxAbsDiff } from './test-helpers.js';
import { buildXDae, pixelDaePrior } from './x-dae.js';

await initBackend({ backend: 'wasm', verbose: false });

const SHAPE: [number, number, number] = [28, 28, 1];
const LATENT = 16;

for (const backend of ['cpu', 'wasm'] as const) {
  // G's weights live on the backend its tests run on
  await tf.setBackend(backend);
  const generator = dgnGenerator(buildGenerator({ latentSize: LATENT, imageShape: SHAPE, baseChannels: 8, minChannels: 4, seed: 1 }), {
    id: `test-g-${backend}`,
  });
  describe(`priors on ${backend}`, () => {
    beforeAll(async () => {
      await tf.setBackend(backend);
    });
    const options = { generator };
    describePriorContract(`daePrior (${backend})`, () => daePrior({ dae: buildHDae({ size: LATENT, seed: 2 }), sigma: 0.5 }), options);
    describePriorContract(
      `pixelDaePrior (${backend})`,
      () => pixelDaePrior({ dae: buildXDae({ imageShape: SHAPE, channels: [4, 8], seed: 3 }), sigma: 0.1 }),
      options,
    );
    describePriorContract(`jointPrior (${backend})`, () => jointPrior({ encoder: tinyEncoder(SHAPE, LATENT, { filters: 4 }) }), options);
    describePriorContract(`l2DecayPrior (${backend})`, () => l2DecayPrior({ decay: 0.01 }), options);
    describePriorContract(
      `gaussianPrior per-dim (${backend})`,
      () => gaussianPrior({ mean: Array.from({ length: LATENT }, (_, i) => i / LATENT), std: 2 }),
      options,
    );
  });
}

describe('prior math', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('daePrior is (R(h) - h) / sigma^2', () => {
    const dae = buildHDae({ size: 8, hidden: [16, 4, 16], seed: 1 });
    const prior = daePrior({ dae, sigma: 0.3 });
    const h = new Rng(1).normalTensor([3, 8]);
    const byHand = tf.tidy(() => tf.div(tf.sub(dae.predict(h) as tf.Tensor, h), 0.09));
    const d = prior.gradLogProb(h, tf.zeros([3, 1, 1, 1]) as tf.Tensor4D);
    expect(prior.space).toBe('h');
    expect(maxAbsDiff(d, byHand)).toBeLessThan(1e-5);
    expect(tf.tidy(() => tf.max(tf.abs(byHand)).dataSync()[0]!)).toBeGreaterThan(0.1);
    tf.dispose([h, byHand, d]);
    prior.dispose();
    prior.dispose();
  });

  it('pixelDaePrior is (R(x) - x) / sigma^2 in pixel space', () => {
    const dae = buildXDae({ imageShape: [8, 8, 3], channels: [4], seed: 1 });
    const prior = pixelDaePrior({ dae, sigma: 0.2 });
    const x = new Rng(2).uniformTensor([2, 8, 8, 3]) as tf.Tensor4D;
    const byHand = tf.tidy(() => tf.div(tf.sub(dae.predict(x) as tf.Tensor, x), 0.04));
    const d = prior.gradLogProb(tf.zeros([2, 4]), x);
    expect(prior.space).toBe('x');
    expect(d.shape).toEqual([2, 8, 8, 3]);
    expect(maxAbsDiff(d, byHand)).toBeLessThan(1e-4);
    tf.dispose([x, byHand, d]);
    prior.dispose();
  });

  it('jointPrior is E(x) - h (over sigma^2 when given), with no generator pass', () => {
    const E = tinyEncoder([8, 8, 1], 6, { filters: 4 });
    const h = new Rng(3).normalTensor([2, 6]);
    const x = new Rng(4).uniformTensor([2, 8, 8, 1]) as tf.Tensor4D;
    const byHand = tf.tidy(() => tf.sub(E.encode(x), h));
    const d1 = jointPrior({ encoder: E }).gradLogProb(h, x);
    const d2 = jointPrior({ encoder: E, sigma: 0.5 }).gradLogProb(h, x);
    expect(maxAbsDiff(d1, byHand)).toBeLessThan(1e-6);
    expect(maxAbsDiff(d2, tf.mul(byHand, 4))).toBeLessThan(1e-5);
    const p = jointPrior({ encoder: E });
    p.dispose(); // the encoder is shared: still usable
    tf.dispose([p.gradLogProb(h, x)]);
    tf.dispose([h, x, byHand, d1, d2]);
    E.dispose();
  });

  it('l2DecayPrior with a plain step of 1 is DGN-AM\'s h *= 0.99; gaussianPrior is -(h - mean)/std^2', () => {
    const h = tf.tensor2d([[1, -2, 4]]);
    const x = tf.zeros([1, 1, 1, 1]) as tf.Tensor4D;
    const d = l2DecayPrior({ decay: 0.01 }).gradLogProb(h, x);
    expect(Array.from(tf.add(h, d).dataSync()).map((v) => +v.toFixed(6))).toEqual([0.99, -1.98, 3.96]);
    const g = gaussianPrior({ mean: [1, 0, 2], std: [1, 2, 0.5] });
    expect(Array.from(g.gradLogProb(h, x).dataSync(), (v) => v + 0)).toEqual([0, 0.5, -8]);
    expect(Array.from(gaussianPrior({ mean: 1, std: 2 }).gradLogProb(h, x).dataSync(), (v) => v + 0)).toEqual([0, 0.75, -0.75]);
    expect(Array.from(gaussianPrior().gradLogProb(h, x).dataSync())).toEqual([-1, 2, -4]);
    g.dispose();
    tf.dispose([h, x, d]);
  });

  it('scales the paper\'s DAE shape to the code size', () => {
    expect(hDaeHiddenUnits(4096)).toEqual([2048, 1024, 500, 1024, 2048]);
    expect(hDaeHiddenUnits(256)).toEqual([128, 64, 31, 64, 128]);
    expect(hDaeHiddenUnits(16)).toEqual([16, 16, 16, 16, 16]);
    const dae = buildHDae({ size: 512 });
    expect(dae.layers.slice(1).map((l) => (l.outputShape as number[])[1])).toEqual([256, 128, 63, 128, 256, 512]);
    dae.dispose();
  });

  it('names both sides of a shape mismatch', () => {
    const dae = daePrior({ dae: buildHDae({ size: 64, hidden: [8] }), sigma: 1 });
    const h = tf.zeros([2, 128]);
    const x = tf.zeros([2, 28, 28, 1]) as tf.Tensor4D;
    expect(() => dae.gradLogProb(h, x)).toThrow('daePrior: DAE maps 64-d codes but h is 128-d');
    const px = pixelDaePrior({ dae: buildXDae({ imageShape: [32, 32, 3], channels: [4] }), sigma: 1 });
    expect(() => px.gradLogProb(h, x)).toThrow('pixelDaePrior: DAE maps 32x32x3 images but x is 28x28x1');
    const E = tinyEncoder([28, 28, 1], 64, { filters: 4, seed: 1, id: 'E64' });
    expect(() => jointPrior({ encoder: E }).gradLogProb(h, x)).toThrow('jointPrior: encoder E64 gives 64-d codes but h is 128-d');
    const E2 = tinyEncoder([32, 32, 3], 128, { filters: 4, seed: 1, id: 'E32' });
    expect(() => jointPrior({ encoder: E2 }).gradLogProb(h, x)).toThrow('jointPrior: encoder E32 takes 32x32x3 images but x is 28x28x1');
    expect(() => gaussianPrior({ mean: [0, 1] }).gradLogProb(h, x)).toThrow('gaussianPrior: mean/std have 2 values but h is 128-d');
    expect(() => buildXDae({ imageShape: [28, 28, 1], channels: [4, 4, 4] })).toThrow(
      'buildXDae: 28x28x1 images cannot go through 3 stride-2 convolutions: height and width must be multiples of 8',
    );
    expect(() => daePrior({ dae: buildXDae({ imageShape: [8, 8, 1], channels: [2] }), sigma: 1 })).toThrow(
      'daePrior: the DAE must map codes [batch, n] to [batch, n], it maps [batch, 8, 8, 1] to [batch, 8, 8, 1]',
    );
    expect(() => daePrior({ dae: buildHDae({ size: 4, hidden: [4] }), sigma: 0 })).toThrow(/sigma must be a positive number, got 0/);
    tf.dispose([h, x]);
    for (const p of [dae, px]) p.dispose();
    for (const e of [E, E2]) e.dispose();
  });
});
