import { describeGeneratorContract } from '@ppgn/core/testing';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { pyramidGenerator } from './generator.js';
import { assemblePyramid, createPyramid, type LapganPyramid } from './level.js';
import { decodeLatent, latentLayout, samplePyramid } from './sample.js';
import { BACKENDS, maxDiff, tinyConfig, useBackend } from './test-helpers.js';

for (const backend of BACKENDS) {
  describe(`sampling (${backend})`, () => {
    it('draws every level top-down, deterministically by seed', async () => {
      await useBackend(backend);
      const pyramid = createPyramid(tinyConfig(), { seed: 1 });
      const a = samplePyramid({ pyramid, n: 4, classIndex: 2, seed: 7 });
      expect(a.sizes).toEqual([4, 8, 16]);
      expect(a.levels.map((l) => l.shape)).toEqual([
        [4, 4, 4, 3],
        [4, 8, 8, 3],
        [4, 16, 16, 3],
      ]);
      expect(a.images.shape).toEqual([4, 16, 16, 3]);
      expect(a.classes).toEqual([2, 2, 2, 2]);
      expect(maxDiff(a.images, a.levels[2]!)).toBe(0);
      const [lo, hi] = tf.tidy(() => [tf.min(a.images).dataSync()[0]!, tf.max(a.images).dataSync()[0]!]);
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThanOrEqual(1);
      const b = samplePyramid({ pyramid, n: 4, classIndex: 2, seed: 7 });
      expect(maxDiff(a.images, b.images)).toBe(0);
      const c = samplePyramid({ pyramid, n: 4, classIndex: 2, seed: 8 });
      expect(maxDiff(a.images, c.images)).toBeGreaterThan(1e-3);
      // sample i depends only on (seed, i): the first two of four equal two drawn alone
      const d = samplePyramid({ pyramid, n: 2, classIndex: 2, seed: 7 });
      expect(maxDiff(d.images, tf.slice(a.images, 0, 2))).toBe(0);
      // the class changes the images
      const e = samplePyramid({ pyramid, n: 4, classIndex: 0, seed: 7 });
      expect(maxDiff(a.images, e.images)).toBeGreaterThan(1e-3);
      for (const s of [a, b, c, d, e]) s.dispose();
      pyramid.dispose();
    });

    it('cycles classes by default, takes one class per sample, and checks them', async () => {
      await useBackend(backend);
      const pyramid = createPyramid(tinyConfig(), { seed: 1 });
      const all = samplePyramid({ pyramid, n: 4, seed: 3 });
      expect(all.classes).toEqual([0, 1, 2, 0]);
      const mixed = samplePyramid({ pyramid, n: 4, seed: 3, classIndex: [0, 1, 2, 0] });
      expect(maxDiff(all.images, mixed.images)).toBe(0);
      expect(() => samplePyramid({ pyramid, n: 2, classIndex: 3 })).toThrow(/class 3 is out of range \(the pyramid has 3 classes\)/);
      expect(() => samplePyramid({ pyramid, n: 2, classIndex: [0] })).toThrow(/1 class indices for 2 samples/);
      const free = createPyramid(tinyConfig({ numClasses: 0 }));
      expect(() => samplePyramid({ pyramid: free, n: 1, classIndex: 0 })).toThrow(/unconditional/);
      tf.dispose([all.images, mixed.images, ...all.levels, ...mixed.levels]);
      pyramid.dispose();
      free.dispose();
    });

    it('per-class pyramids route each sample to its class networks', async () => {
      await useBackend(backend);
      const pyramid = createPyramid(tinyConfig({ perClass: true, numClasses: 2, sizes: [4, 8] }), { seed: 2 });
      const layout = latentLayout(pyramid);
      const h = tf.randomUniform([3, layout.total], -1, 1, 'float32', 5);
      const mixed = decodeLatent(pyramid, layout, h, [1, 0, 1]).images;
      const ones = decodeLatent(pyramid, layout, h, [1, 1, 1]).images;
      const zeros = decodeLatent(pyramid, layout, h, [0, 0, 0]).images;
      expect(maxDiff(tf.gather(mixed, [0, 2]), tf.gather(ones, [0, 2]))).toBeLessThan(1e-6);
      expect(maxDiff(tf.gather(mixed, [1]), tf.gather(zeros, [1]))).toBeLessThan(1e-6);
      expect(maxDiff(ones, zeros)).toBeGreaterThan(1e-3);
      tf.dispose([h, mixed, ones, zeros]);
      pyramid.dispose();
    });

    it('extends past the training resolution by applying the finest level again', async () => {
      await useBackend(backend);
      const pyramid = createPyramid(tinyConfig(), { seed: 1 });
      const s = samplePyramid({ pyramid, n: 2, classIndex: 1, seed: 4, extend: [32, 48] });
      expect(s.sizes).toEqual([4, 8, 16, 32, 48]);
      expect(s.images.shape).toEqual([2, 48, 48, 3]);
      // the levels up to the training size are the same as without extending
      const plain = samplePyramid({ pyramid, n: 2, classIndex: 1, seed: 4 });
      expect(maxDiff(s.levels[2]!, plain.images)).toBe(0);
      expect(() => samplePyramid({ pyramid, n: 1, extend: 16 })).toThrow(/growing past the finest size 16/);
      s.dispose();
      plain.dispose();
      pyramid.dispose();
    });

    it('starts from given coarse images instead of the base GAN', async () => {
      await useBackend(backend);
      const pyramid = createPyramid(tinyConfig(), { seed: 1 });
      const start = tf.fill([2, 4, 4, 3], 0.25) as tf.Tensor4D;
      const s = samplePyramid({ pyramid, n: 2, classIndex: 0, start });
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(s.levels[0]!, 0.25))).dataSync()[0])).toBeLessThan(1e-6);
      expect(() => samplePyramid({ pyramid, n: 3, classIndex: 0, start })).toThrow(/start images must be \[3, 4, 4, 3\]/);
      s.dispose();
      start.dispose();
      pyramid.dispose();
    });

    it('chains levels from different pyramids, checking sizes, channels and classes', async () => {
      await useBackend(backend);
      const a = createPyramid(tinyConfig(), { seed: 1 });
      const b = createPyramid(tinyConfig(), { seed: 2 });
      const mixed = assemblePyramid([a.levels[0]!, a.levels[1]!, b.levels[2]!]);
      const s = samplePyramid({ pyramid: mixed, n: 2, classIndex: 0, seed: 1 });
      const sa = samplePyramid({ pyramid: a, n: 2, classIndex: 0, seed: 1 });
      expect(maxDiff(s.levels[1]!, sa.levels[1]!)).toBe(0);
      expect(maxDiff(s.images, sa.images)).toBeGreaterThan(1e-4);
      const other = createPyramid(tinyConfig({ sizes: [4, 10, 16] }));
      expect(() => assemblePyramid([a.levels[0]!, a.levels[1]!, other.levels[2]!])).toThrow(
        /level 2 \(refine 10x10 -> 16x16\) takes 10x10 images but level 1 \(refine 4x4 -> 8x8\) makes 8x8/,
      );
      const gray = createPyramid(tinyConfig({ channels: 1 }));
      expect(() => assemblePyramid([a.levels[0]!, gray.levels[1]!])).toThrow(/level 1 \(refine 4x4 -> 8x8\) has 1 channel\(s\) but level 0 has 3/);
      const five = createPyramid(tinyConfig({ numClasses: 5 }));
      expect(() => assemblePyramid([a.levels[0]!, five.levels[1]!])).toThrow(/level 1 \(refine 4x4 -> 8x8\) has 5 classes but level 0 has 3/);
      expect(() => assemblePyramid([a.levels[1]!])).toThrow(/level 0 must be a base level/);
      // an unconditional finer level chains with a conditional base
      const free = createPyramid(tinyConfig({ numClasses: 0 }));
      const half = assemblePyramid([a.levels[0]!, free.levels[1]!]);
      expect(half.numClasses).toBe(3);
      s.dispose();
      sa.dispose();
      for (const p of [a, b, other, gray, five, free]) p.dispose();
    });

    it('leaks no tensors when sampling', async () => {
      await useBackend(backend);
      const pyramid = createPyramid(tinyConfig({ perClass: true }), { seed: 1 });
      const once = () => samplePyramid({ pyramid, n: 3, seed: 2, extend: 24 }).dispose();
      once();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) once();
      expect(tf.memory().numTensors).toBe(before);
      pyramid.dispose();
    });

    it('the generator maps the sampler latent to the same images as samplePyramid', async () => {
      await useBackend(backend);
      const pyramid = createPyramid(tinyConfig(), { seed: 1 });
      const g = pyramidGenerator({ pyramid, classIndex: 1 });
      expect(g.latentShape).toEqual([8 + 8 * 8 + 16 * 16]);
      expect(g.imageShape).toEqual([16, 16, 3]);
      expect(g.id).toBe('lapgan(4-8-16)/class 1');
      const h = g.sampleLatent(3, 9);
      const x = g.generate(h);
      const s = samplePyramid({ pyramid, n: 3, classIndex: 1, seed: 9 });
      expect(maxDiff(x, s.images)).toBe(0);
      const big = pyramidGenerator({ pyramid, classIndex: 1, extend: 32 });
      expect(big.imageShape).toEqual([32, 32, 3]);
      expect(big.latentShape).toEqual([g.latentShape[0]! + 32 * 32]);
      expect(() => pyramidGenerator({ pyramid })).toThrow(/pass classIndex/);
      tf.dispose([h, x]);
      s.dispose();
      pyramid.dispose();
    });
  });

  const pyramids = new Map<string, LapganPyramid>();
  const make = (name: string, factory: () => LapganPyramid, classIndex?: number) => async () => {
    await useBackend(backend);
    const key = `${backend}:${name}`;
    if (!pyramids.has(key)) pyramids.set(key, factory());
    return pyramidGenerator({ pyramid: pyramids.get(key)!, classIndex });
  };
  describeGeneratorContract(`LAPGAN, class-conditional (${backend})`, make('cond', () => createPyramid(tinyConfig(), { seed: 3 }), 2));
  describeGeneratorContract(
    `LAPGAN, per-class, unconditional finer level, extended (${backend})`,
    make('mixed', () => {
      const a = createPyramid(tinyConfig({ perClass: true, sizes: [4, 8] }), { seed: 4 });
      const b = createPyramid(tinyConfig({ numClasses: 0, sizes: [4, 8] }), { seed: 5 });
      return assemblePyramid([a.levels[0]!, b.levels[1]!]);
    }, 1),
  );
}
