import { Rng } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createPyramid } from './level.js';
import { discriminate, generateBase, generateResidual } from './networks.js';
import { oneHot } from './sample.js';
import { defaultPyramidConfig, LAPGAN_CIFAR10_DEMO, levelSpecs, type PyramidConfig } from './spec.js';
import { BACKENDS, tinyConfig, useBackend } from './test-helpers.js';

describe('level specs', () => {
  it('resolves defaults per level and names bad values', () => {
    const specs = levelSpecs(defaultPyramidConfig({ sizes: [8, 16, 32], channels: 3, numClasses: 10 }));
    expect(specs.map((s) => s.kind)).toEqual(['base', 'refine', 'refine']);
    expect(specs[2]).toMatchObject({ inputSize: 16, size: 32, gFilters: [32, 32], gKernel: 5, dPadding: 'valid', residual: 'tanh' });
    expect(levelSpecs(tinyConfig())[1]).toMatchObject({ size: 8, dKernel: 3, dPadding: 'valid' });
    expect(levelSpecs(defaultPyramidConfig({ sizes: [4, 8] }))[1]).toMatchObject({ size: 8, dKernel: 5, dPadding: 'same' });
    expect(() => levelSpecs({ ...tinyConfig(), sizes: [8, 8] })).toThrow(/increase from coarse to fine/);
    expect(() => levelSpecs({ ...tinyConfig(), base: { dropout: 1.5 } })).toThrow(/level 0: dropout must be in \[0, 1\)/);
    expect(() => levelSpecs({ ...tinyConfig(), refine: [{}] })).toThrow(/refine lists 1 levels but sizes \[4, 8, 16\] have 2/);
    expect(() => levelSpecs({ ...tinyConfig(), refine: { dPadding: 'valid', dKernel: 5 } })).toThrow(/level 1: a 8x8 level is too small/);
    expect(() => levelSpecs({ ...tinyConfig(), numClasses: 0, perClass: true })).toThrow(/perClass needs numClasses > 0/);
  });

  it('default and reference models have the documented parameter counts', () => {
    const counts = (config: PyramidConfig) => {
      const p = createPyramid(config);
      const c = p.levels.map((l) => l.paramCounts());
      p.dispose();
      return c;
    };
    expect(counts(defaultPyramidConfig({ sizes: [8, 16, 32], channels: 3, numClasses: 10 }))).toEqual([
      { g: 417_984, d: 118_017 },
      { g: 34_883, d: 34_593 },
      { g: 43_331, d: 47_137 },
    ]);
    expect(counts(LAPGAN_CIFAR10_DEMO)).toEqual([
      { g: 542_592, d: 483_001 },
      { g: 846_191, d: 435_565 },
      // ~0.85 M for the 28x28 G, as in the reference demo
      { g: 852_659, d: 453_681 },
    ]);
  });
});

const shapeCases: [string, PyramidConfig][] = [
  ['conditional 4 -> 8 -> 16, RGB', tinyConfig()],
  ['unconditional 4 -> 7 -> 14, gray, sigmoid base, linear residual', tinyConfig({ sizes: [4, 7, 14], channels: 1, numClasses: 0, base: { noiseDim: 6, gHidden: [16], dHidden: [16], output: 'sigmoid' }, refine: { gFilters: [4, 4], gKernel: 3, gOutKernel: 3, dFilters: 4, dKernel: 3, residual: 'linear' } })],
  ['per-class 4 -> 8, RGB, valid D', tinyConfig({ sizes: [4, 12], perClass: true, numClasses: 2, refine: { gFilters: [4], gKernel: 3, gOutKernel: 3, dFilters: 4, dKernel: 3, dPadding: 'valid' } })],
];

for (const backend of BACKENDS) {
  describe(`networks (${backend})`, () => {
    for (const [name, config] of shapeCases) {
      it(`gives the right shapes at every level: ${name}`, async () => {
        await useBackend(backend);
        const before = tf.memory().numTensors;
        const pyramid = createPyramid(config, { seed: 3 });
        const b = 3;
        const rng = new Rng(1);
        const k = config.perClass ? 0 : (config.numClasses ?? 0);
        const onehot = k > 0 ? oneHot([0, 1, 2].map((i) => i % k), k) : null;
        for (const level of pyramid.levels) {
          const spec = level.spec;
          const { g, d } = level.netsFor(spec.perClass ? 1 : null);
          const s = spec.size;
          const real = rng.uniformTensor([b, s, s, config.channels], -1, 1) as tf.Tensor4D;
          let fake: tf.Tensor4D;
          let coarse: tf.Tensor4D | null = null;
          if (spec.kind === 'base') {
            const z = rng.uniformTensor([b, spec.noiseDim], -1, 1) as tf.Tensor2D;
            fake = generateBase(spec, g, z, onehot);
            const [lo, hi] = tf.tidy(() => [tf.min(fake).dataSync()[0]!, tf.max(fake).dataSync()[0]!]);
            expect(lo).toBeGreaterThanOrEqual(-1);
            expect(hi).toBeLessThanOrEqual(1);
            z.dispose();
          } else {
            coarse = real;
            const z = rng.uniformTensor([b, s, s, 1], -1, 1) as tf.Tensor4D;
            fake = generateResidual(spec, g, z, onehot, coarse);
            // past the training size (the class plane is resized)
            const z2 = rng.uniformTensor([b, 2 * s, 2 * s, 1], -1, 1) as tf.Tensor4D;
            const l2 = rng.uniformTensor([b, 2 * s, 2 * s, config.channels], -1, 1) as tf.Tensor4D;
            const big = generateResidual(spec, g, z2, onehot, l2);
            expect(big.shape).toEqual([b, 2 * s, 2 * s, config.channels]);
            tf.dispose([z, z2, l2, big]);
          }
          expect(fake.shape).toEqual([b, s, s, config.channels]);
          const logits = discriminate(spec, d!, fake, coarse, onehot, null);
          expect(logits.shape).toEqual([b, 1]);
          const dropped = discriminate(spec, d!, fake, coarse, onehot, new Rng(5));
          expect(tf.tidy(() => tf.max(tf.abs(tf.sub(logits, dropped))).dataSync()[0])).toBeGreaterThan(0);
          tf.dispose([real, fake, logits, dropped]);
        }
        onehot?.dispose();
        pyramid.dispose();
        expect(tf.memory().numTensors).toBe(before);
      });
    }

    it('initial weights are reproducible from the seed', async () => {
      await useBackend(backend);
      const weights = (seed: number) => {
        const p = createPyramid(tinyConfig(), { seed });
        const w = p.levels.map((l) => l.nets[0]!.g.getWeights().map((t) => Array.from(t.dataSync().slice(0, 5))));
        p.dispose();
        return w;
      };
      expect(weights(4)).toEqual(weights(4));
      expect(weights(4)).not.toEqual(weights(5));
    });
  });
}
