import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { Condition, Generator, ImageShape, Prior } from '../interfaces.js';
import { Rng } from '../rng.js';

/**
 * Contract suites: every Generator, Condition and Prior implementation passes the same
 * checks (shapes, value ranges, finite non-zero gradients, no tensor leaks). They run on
 * whatever backend is current; loop over backends in the calling test file.
 */

type Factory<T> = () => T | Promise<T>;

function maxAbs(t: Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(t)).dataSync()[0]!);
}

function allFinite(t: Tensor): boolean {
  return tf.tidy(() => tf.all(tf.isFinite(t)).dataSync()[0] === 1);
}

function randomImages(shape: ImageShape, batch: number, seed: number): Tensor4D {
  return new Rng(seed).uniformTensor([batch, ...shape]) as Tensor4D;
}

/** Leaks: run `fn` (which must dispose what it makes) several times; the count must not grow. */
function expectNoLeak(fn: () => void, runs = 3): void {
  fn(); // first call may build lazy weights
  const before = tf.memory().numTensors;
  for (let i = 0; i < runs; i++) fn();
  expect(tf.memory().numTensors).toBe(before);
}

export interface GeneratorContractOptions {
  batch?: number;
  seed?: number;
}

export function describeGeneratorContract(
  name: string,
  make: Factory<Generator>,
  options: GeneratorContractOptions = {},
): void {
  const batch = options.batch ?? 2;
  const seed = options.seed ?? 1;
  describe(`Generator contract: ${name}`, () => {
    it('declares its shapes and describes itself', async () => {
      const g = await make();
      expect(g.id.length).toBeGreaterThan(0);
      expect(typeof g.describe()).toBe('string');
      expect(g.latentShape.length).toBeGreaterThan(0);
      expect(g.latentShape.every((d) => Number.isInteger(d) && d > 0)).toBe(true);
      expect(g.imageShape).toHaveLength(3);
      expect([1, 3]).toContain(g.imageShape[2]);
    });

    it('generates finite images of its declared shape in [0, 1]', async () => {
      const g = await make();
      const h = new Rng(seed).normalTensor([batch, ...g.latentShape]);
      const x = g.generate(h);
      expect(x.shape).toEqual([batch, ...g.imageShape]);
      expect(allFinite(x)).toBe(true);
      const [lo, hi] = tf.tidy(() => [tf.min(x).dataSync()[0]!, tf.max(x).dataSync()[0]!]);
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThanOrEqual(1);
      tf.dispose([h, x]);
    });

    it('has finite, non-zero gradients w.r.t. h', async () => {
      const g = await make();
      const h = new Rng(seed + 1).normalTensor([batch, ...g.latentShape]);
      const dh = tf.grad((hh: Tensor) => tf.sum(tf.mul(g.generate(hh), randomImages(g.imageShape, batch, seed))))(h);
      expect(dh.shape).toEqual(h.shape);
      expect(allFinite(dh)).toBe(true);
      expect(maxAbs(dh)).toBeGreaterThan(0);
      tf.dispose([h, dh]);
    });

    it('leaks no tensors', async () => {
      const g = await make();
      const h = new Rng(seed + 2).normalTensor([batch, ...g.latentShape]);
      expectNoLeak(() => tf.dispose(g.generate(h)));
      expectNoLeak(() => tf.dispose(tf.grad((hh: Tensor) => tf.sum(g.generate(hh)))(h)));
      h.dispose();
    });
  });
}

export interface ConditionContractOptions {
  /** Images to score; defaults to the condition's own imageShape. */
  imageShape?: ImageShape;
  batch?: number;
  seed?: number;
  /** Set when logProb is a true log-probability (so every value is <= 0). */
  isLogProbability?: boolean;
}

export function describeConditionContract(
  name: string,
  make: Factory<Condition>,
  options: ConditionContractOptions = {},
): void {
  const batch = options.batch ?? 2;
  const seed = options.seed ?? 3;
  describe(`Condition contract: ${name}`, () => {
    async function setup(): Promise<{ c: Condition; x: Tensor4D }> {
      const c = await make();
      const shape = options.imageShape ?? c.imageShape;
      if (shape === undefined) throw new Error(`${name}: accepts any image shape; pass options.imageShape`);
      return { c, x: randomImages(shape, batch, seed) };
    }

    it('describes itself', async () => {
      const { c, x } = await setup();
      expect(c.id.length).toBeGreaterThan(0);
      expect(typeof c.describe()).toBe('string');
      x.dispose();
    });

    it('scores each image with a finite number', async () => {
      const { c, x } = await setup();
      const lp = c.logProb(x);
      expect(lp.shape).toEqual([batch]);
      expect(allFinite(lp)).toBe(true);
      if (options.isLogProbability) {
        expect(tf.tidy(() => tf.max(lp).dataSync()[0]!)).toBeLessThanOrEqual(1e-6);
      }
      tf.dispose([lp, x]);
    });

    it('has finite, non-zero gradients w.r.t. the image', async () => {
      const { c, x } = await setup();
      const dx = tf.grad((xx: Tensor) => tf.sum(c.logProb(xx as Tensor4D)))(x);
      expect(dx.shape).toEqual(x.shape);
      expect(allFinite(dx)).toBe(true);
      expect(maxAbs(dx)).toBeGreaterThan(0);
      tf.dispose([dx, x]);
    });

    it('leaks no tensors', async () => {
      const { c, x } = await setup();
      expectNoLeak(() => tf.dispose(c.logProb(x)));
      expectNoLeak(() => tf.dispose(tf.grad((xx: Tensor) => tf.sum(c.logProb(xx as Tensor4D)))(x)));
      x.dispose();
    });
  });
}

export interface PriorContractOptions {
  /** The generator that makes x = G(h) for the prior (needed by 'x' and joint priors). */
  generator: Generator;
  batch?: number;
  seed?: number;
}

export function describePriorContract(name: string, make: Factory<Prior>, options: PriorContractOptions): void {
  const batch = options.batch ?? 2;
  const seed = options.seed ?? 5;
  const g = options.generator;
  describe(`Prior contract: ${name}`, () => {
    it('describes itself and names its space', async () => {
      const p = await make();
      expect(p.id.length).toBeGreaterThan(0);
      expect(typeof p.describe()).toBe('string');
      expect(['h', 'x']).toContain(p.space);
    });

    it('returns a finite, non-zero direction of the right shape', async () => {
      const p = await make();
      const h = new Rng(seed).normalTensor([batch, ...g.latentShape]);
      const x = g.generate(h);
      const d = p.gradLogProb(h, x);
      expect(d.shape).toEqual(p.space === 'h' ? h.shape : x.shape);
      expect(allFinite(d)).toBe(true);
      expect(maxAbs(d)).toBeGreaterThan(0);
      tf.dispose([h, x, d]);
    });

    it('leaks no tensors', async () => {
      const p = await make();
      const h = new Rng(seed + 1).normalTensor([batch, ...g.latentShape]);
      const x = g.generate(h);
      expectNoLeak(() => tf.dispose(p.gradLogProb(h, x)));
      tf.dispose([h, x]);
    });
  });
}
