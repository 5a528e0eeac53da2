import * as tf from '@tensorflow/tfjs';
import { createRng, sumConditions } from '@ppgn/core';
import type { Condition, Encoder, ImageShape } from '@ppgn/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { detach } from './detach.js';
import { type SampleOptions, sample, sampleSync } from './sampler.js';
import { PRESETS } from './settings.js';
import { type SamplerTerm, priorTerm } from './terms.js';
import {
  BACKENDS,
  halfDaePrior,
  halfPixelPrior,
  l2,
  linearClassifier,
  linearGenerator,
  mapM,
  matMul,
  matrix,
  maxRelDiff,
  meanAbs,
  rows,
  sigmoidGenerator,
  targetCondition,
  transpose,
  useBackend,
  zip,
} from './test-models.js';

const IMG: ImageShape = [2, 2, 1];
const A = matrix(3, 4, 7);
const H0 = [
  [0.5, -1, 2],
  [1.5, 0.3, -0.7],
];
const TARGET = [0.2, -0.1, 0.4, 0.9];
const C_H = [0.3, -0.2, 0.1];

interface Ref {
  h0: number[][];
  eps1: number;
  eps2: number;
  eps3: number;
  eps4: number;
  lr: number;
  mode: 'normalised' | 'plain';
  decay?: number;
  clip?: [number, number];
  /** target of the condition; with `target2`, the condition is target + 0.5 * target2 */
  target?: number[];
  target2?: number[];
  priorH?: number[];
  priorX?: number;
  noise?: number[][];
  mask?: number[];
  real?: number[];
  userH?: { w: number };
  userX?: { w: number };
}

/** The update of one step, in float64, from the formula. */
function refStep(r: Ref) {
  const x = matMul(r.h0, A);
  const m = r.mask ?? [1, 1, 1, 1];
  const real = r.real ?? [0, 0, 0, 0];
  const xc = x.map((row) => row.map((v, j) => v * m[j]! + real[j]! * (1 - m[j]!)));
  const At = transpose(A);
  const xParts: Record<string, number[][]> = {};
  const hParts: Record<string, number[][]> = {};
  if (r.target) {
    xParts.condition = mapM(xc, (v, _i, j) => {
      let g = -2 * (v - r.target![j]!);
      if (r.target2) g += 0.5 * -2 * (v - r.target2[j]!);
      return r.eps2 * m[j]! * g;
    });
  }
  if (r.priorX !== undefined) xParts.prior = mapM(xc, (v, _i, j) => r.eps1 * m[j]! * (r.priorX! - 0.5 * v));
  if (r.mask && r.eps4 !== 0) {
    xParts.context = mapM(x, (v, _i, j) => r.eps4 * 2 * (real[j]! - v) * (1 - m[j]!) ** 2);
  }
  if (r.userX) xParts.userX = mapM(x, (_v, _i, j) => r.userX!.w * m[j]! * 1);
  if (r.priorH) hParts.prior = mapM(r.h0, (v, _i, j) => r.eps1 * (r.priorH![j]! - 0.5 * v));
  if (r.noise) hParts.noise = mapM(r.noise, (v) => r.eps3 * v);
  if (r.userH) hParts.userH = mapM(r.h0, (v) => r.userH!.w * -v);
  const pulledOf = (g: number[][]) => matMul(g, At);
  let d = mapM(r.h0, () => 0);
  for (const g of Object.values(hParts)) d = zip(d, g, (a, b) => a + b);
  for (const g of Object.values(xParts)) d = zip(d, pulledOf(g), (a, b) => a + b);
  let h1 = r.h0.map((row, i) => {
    const s = r.mode === 'normalised' ? r.lr / meanAbs(d[i]!) : r.lr;
    return row.map((v, j) => v + s * d[i]![j]!);
  });
  if (r.decay) h1 = mapM(h1, (v) => v * (1 - r.decay!));
  if (r.clip) h1 = mapM(h1, (v) => Math.min(r.clip![1], Math.max(r.clip![0], v)));
  return { h1, d, xParts, hParts, pulledOf };
}

const userHTerm: SamplerTerm = {
  name: 'userH',
  description: 'pulls h to 0',
  weight: 0.25,
  gradient: ({ h }) => tf.neg(h),
};
const userXTerm: SamplerTerm = {
  name: 'userX',
  description: 'brightens x',
  weight: 0.5,
  space: 'x',
  gradient: ({ x }) => tf.onesLike(x),
};

async function hOf(options: SampleOptions) {
  const r = await sample(options);
  const h = rows(r.h.dataSync(), r.h.shape[1]!);
  return { r, h };
}

function knownError(images: tf.Tensor4D, real: tf.Tensor4D, known: tf.Tensor): number[] {
  return tf.tidy(() => Array.from(tf.sum(tf.mul(tf.square(tf.sub(images, real)), known), [1, 2, 3]).dataSync()));
}

for (const backend of BACKENDS) {
  describe(`sample [${backend}]`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    describe('one step equals the formula', () => {
      it('normalised: prior (h) + condition + noise + user terms', async () => {
        const g = linearGenerator(A, IMG);
        const init = tf.tensor2d(H0);
        const s = { eps1: 0.3, eps2: 0.5, eps3: 0.2, eps4: 0, lr: 0.7 };
        const { r, h } = await hOf({
          generator: g,
          condition: targetCondition(TARGET, IMG),
          prior: halfDaePrior(C_H),
          terms: [userHTerm, userXTerm],
          init,
          batch: 2,
          seed: 11,
          steps: 1,
          ...s,
        });
        const noise = rows(createRng(11).normalArray(6), 3);
        const ref = refStep({ h0: H0, ...s, mode: 'normalised', target: TARGET, priorH: C_H, noise, userH: { w: 0.25 }, userX: { w: 0.5 } });
        expect(maxRelDiff(h, ref.h1)).toBeLessThan(1e-5);
        // The trace reports each weighted term in its own space, and d in h.
        const t = r.trace[0]!;
        expect(t.terms.map((e) => e.name)).toEqual(['prior', 'condition', 'noise', 'userH', 'userX']);
        const byName = Object.fromEntries(t.terms.map((e) => [e.name, e]));
        for (const [name, g2] of Object.entries({ ...ref.hParts, ...ref.xParts })) {
          expect(byName[name]!.l2[0]).toBeCloseTo(l2(g2[0]!), 4);
          expect(byName[name]!.meanAbs[1]).toBeCloseTo(meanAbs(g2[1]!), 4);
        }
        expect(byName.condition!.space).toBe('x');
        expect(byName.prior!.space).toBe('h');
        expect(t.total.l2[1]).toBeCloseTo(l2(ref.d[1]!), 4);
        expect(t.stepSize[0]).toBeCloseTo(0.7 / meanAbs(ref.d[0]!), 4);
        // log p(y|x) of the start
        const x0 = matMul(H0, A);
        expect(t.logProb![0]).toBeCloseTo(-x0[0]!.reduce((acc, v, j) => acc + (v - TARGET[j]!) ** 2, 0), 4);
        r.dispose();
        init.dispose();
      });

      it('plain: h += lr * d, then decay and clip', async () => {
        const g = linearGenerator(A, IMG);
        const init = tf.tensor2d(H0);
        const s = { eps1: 0.3, eps2: 0.5, eps3: 0.2, eps4: 0, lr: 1 };
        const { r, h } = await hOf({
          generator: g,
          condition: targetCondition(TARGET, IMG),
          prior: halfDaePrior(C_H),
          init,
          batch: 2,
          seed: 3,
          steps: 1,
          stepMode: 'plain',
          decay: 0.01,
          clip: [-1, 1.2],
          ...s,
        });
        const noise = rows(createRng(3).normalArray(6), 3);
        const ref = refStep({ h0: H0, ...s, mode: 'plain', decay: 0.01, clip: [-1, 1.2], target: TARGET, priorH: C_H, noise });
        expect(maxRelDiff(h, ref.h1)).toBeLessThan(1e-5);
        expect(h.flat().some((v) => v === 1.2 || v === -1)).toBe(true); // the clip bit
        expect(r.trace[0]!.stepSize).toEqual([1, 1]);
        r.dispose();
        init.dispose();
      });

      it('inpainting: condition through the composite, x-space prior, context term, user terms; exact per-term trace', async () => {
        const g = linearGenerator(A, IMG);
        const init = tf.tensor2d(H0);
        const mask = [1, 0, 1, 0];
        const real = [0.6, 0.1, 0.8, 0.3];
        const s = { eps1: 0.4, eps2: 0.5, eps3: 0, eps4: 0.8, lr: 0.9 };
        const image = tf.tensor3d(real, [2, 2, 1]);
        const maskT = tf.tensor2d(mask, [2, 2]);
        const { r, h } = await hOf({
          generator: g,
          condition: targetCondition(TARGET, IMG),
          prior: halfPixelPrior(0.25),
          terms: [userHTerm, userXTerm],
          inpaint: { image, mask: maskT },
          init,
          batch: 2,
          seed: 1,
          steps: 1,
          exactTermTrace: true,
          ...s,
        });
        const ref = refStep({ h0: H0, ...s, mode: 'normalised', target: TARGET, priorX: 0.25, mask, real, userH: { w: 0.25 }, userX: { w: 0.5 } });
        expect(maxRelDiff(h, ref.h1)).toBeLessThan(1e-5);
        const t = r.trace[0]!;
        expect(t.terms.map((e) => e.name)).toEqual(['prior', 'condition', 'context', 'userH', 'userX']);
        for (const name of ['prior', 'condition', 'context', 'userX']) {
          const e = t.terms.find((x) => x.name === name)!;
          expect(e.space).toBe('x');
          expect(e.l2[0]).toBeCloseTo(l2(ref.xParts[name]![0]!), 4);
          expect(e.h!.l2[1]).toBeCloseTo(l2(ref.pulledOf(ref.xParts[name]!)[1]!), 4);
        }
        r.dispose();
        tf.dispose([init, image, maskT]);
      });

      it('a weighted sum of conditions (core sumConditions) and a plain Condition object', async () => {
        const g = linearGenerator(A, IMG);
        const init = tf.tensor2d(H0);
        const t2 = [0.9, 0.9, -0.3, 0.1];
        const condition = sumConditions([targetCondition(TARGET, IMG), { condition: targetCondition(t2, IMG), weight: 0.5 }]);
        const s = { eps1: 0, eps2: 0.1, eps3: 0, eps4: 0, lr: 1 };
        const { r, h } = await hOf({ generator: g, condition, init, batch: 2, seed: 1, steps: 1, stepMode: 'plain', ...s });
        const ref = refStep({ h0: H0, ...s, mode: 'plain', target: TARGET, target2: t2 });
        expect(maxRelDiff(h, ref.h1)).toBeLessThan(1e-5);
        // the reported final log p is the condition's value at the final images
        const lp = condition.logProb(r.images);
        expect(r.logProb![1]).toBeCloseTo(lp.dataSync()[1]!, 4);
        tf.dispose([lp, init]);
        r.dispose();
      });

      it("dgn-am: normalised step, h *= 0.99, clipped to [0, 30]", async () => {
        const g = linearGenerator(A, IMG);
        const h0 = [
          [0.5, 1, 2],
          [1.5, 0.3, 0.7],
        ];
        const init = tf.tensor2d(h0);
        const { r, h } = await hOf({ generator: g, condition: targetCondition(TARGET, IMG), variant: 'dgn-am', init, batch: 2, seed: 1, steps: 1 });
        const ref = refStep({ h0, eps1: 0, eps2: 1, eps3: 0, eps4: 0, lr: 1, mode: 'normalised', decay: 0.01, clip: [0, 30], target: TARGET });
        expect(maxRelDiff(h, ref.h1)).toBeLessThan(1e-5);
        expect(r.settings.variant).toBe('dgn-am');
        expect(r.settings.conditionObjective).toBe('logit');
        r.dispose();
        init.dispose();
      });
    });

    it('one forward and one backward of G per step for the whole batch, whatever the x-space terms', async () => {
      // G(h) = h A with a custom gradient that counts its calls.
      const a = tf.tensor2d(A);
      const calls = { forward: 0, backward: 0, condition: 0 };
      const counted = tf.customGrad((h, save) => {
        calls.forward++;
        (save as tf.GradSaveFunc)([h as tf.Tensor]);
        return {
          value: tf.reshape(tf.matMul(h as tf.Tensor2D, a), [-1, ...IMG]),
          gradFunc: (dy) => {
            calls.backward++;
            return tf.matMul(tf.reshape(dy as tf.Tensor, [-1, 4]), a, false, true);
          },
        };
      });
      const g = { ...linearGenerator(A, IMG), generate: (h: tf.Tensor) => counted(h) as tf.Tensor4D };
      const target = targetCondition(TARGET, IMG);
      const condition: Condition = {
        ...target,
        logProb: (x) => {
          calls.condition++;
          return target.logProb(x);
        },
      };
      const image = tf.fill([2, 2, 1], 0.5);
      const mask = tf.tensor2d([1, 0, 1, 0], [2, 2]);
      const init = tf.tensor2d(H0);
      const r = await sample({
        generator: g,
        condition,
        prior: halfPixelPrior(0.2),
        terms: [userXTerm, userHTerm],
        inpaint: { image, mask },
        init,
        batch: 2,
        seed: 1,
        steps: 7,
        eps1: 0.1,
        eps4: 0.1,
        saveEvery: 0,
      });
      // 7 steps + the final images
      expect(calls).toEqual({ forward: 8, backward: 7, condition: 8 });
      // and the counted generator computes the same chain as the plain one
      const plain = await sample({
        generator: linearGenerator(A, IMG),
        condition: target,
        prior: halfPixelPrior(0.2),
        terms: [userXTerm, userHTerm],
        inpaint: { image, mask },
        init,
        batch: 2,
        seed: 1,
        steps: 7,
        eps1: 0.1,
        eps4: 0.1,
        saveEvery: 0,
      });
      expect(maxRelDiff(rows(r.h.dataSync(), 3), rows(plain.h.dataSync(), 3))).toBeLessThan(1e-5);
      r.dispose();
      plain.dispose();
      tf.dispose([a, image, mask, init]);
    });

    it('with only the condition term, log p(y|x) rises', async () => {
      const g = sigmoidGenerator(8, [4, 4, 1], 2);
      const c = linearClassifier(matrix(16, 3, 5), [4, 4, 1], 1);
      const r = await sample({ generator: g, condition: c, batch: 3, seed: 4, steps: 30, lr: 0.05, eps3: 0 });
      const first = r.trace[0]!.logProb!;
      const last = r.logProb!;
      for (let i = 0; i < 3; i++) expect(last[i]!).toBeGreaterThan(first[i]! + 0.05);
      expect(r.trace.every((t) => t.terms.length === 1 && t.terms[0]!.name === 'condition')).toBe(true);
      r.dispose();
    });

    it('with only a DAE-like prior R(h) = 0.5 h + c, h moves toward R(h)', async () => {
      const c = [1, -2, 0.5, 0, 0.25, -1, 2, 0.1];
      const g = sigmoidGenerator(8, [2, 2, 1]);
      const r = await sample({
        generator: g,
        prior: halfDaePrior(c),
        batch: 2,
        seed: 9,
        steps: 20,
        stepMode: 'plain',
        eps1: 0.2,
        eps3: 0,
        saveEvery: 1,
        saveH: true,
      });
      // ||R(h) - h|| = 0.5 ||h - 2c|| shrinks by (1 - 0.1) every step
      const gap = r.frames.map((f) => {
        const hh = rows(f.h!, 8);
        return hh.map((row) => 0.5 * l2(row.map((v, j) => v - 2 * c[j]!)));
      });
      for (let t = 1; t < gap.length; t++) {
        for (let i = 0; i < 2; i++) expect(gap[t]![i]! / gap[t - 1]![i]!).toBeCloseTo(0.9, 4);
      }
      r.dispose();
    });

    it('the noise term has standard deviation eps3; a normalised step moves lr per dimension', async () => {
      const n = 4000;
      const g = linearGenerator(matrix(n, 1, 3), [1, 1, 1]);
      const zeros = tf.zeros([2, n]);
      const plain = await sample({ generator: g, init: zeros, batch: 2, seed: 21, steps: 1, eps3: 0.3, stepMode: 'plain', saveEvery: 0 });
      const v = Array.from(plain.h.dataSync());
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
      expect(Math.abs(mean)).toBeLessThan(0.02);
      expect(std).toBeGreaterThan(0.3 * 0.97);
      expect(std).toBeLessThan(0.3 * 1.03);
      const norm = await sample({ generator: g, init: zeros, batch: 2, seed: 21, steps: 1, eps3: 0.3, lr: 0.5, saveEvery: 0 });
      const rowsN = rows(norm.h.dataSync(), n);
      for (const row of rowsN) expect(meanAbs(row)).toBeCloseTo(0.5, 4);
      tf.dispose(zeros);
      plain.dispose();
      norm.dispose();
    });

    it('the same seed gives the same chain; another seed differs; sample and sampleSync agree', async () => {
      const g = sigmoidGenerator(8, [4, 4, 1], 3);
      const c = linearClassifier(matrix(16, 3, 8), [4, 4, 1], 2);
      const opts: SampleOptions = {
        generator: g,
        condition: c,
        prior: halfDaePrior([0, 0, 0, 0, 1, 1, 1, 1]),
        batch: 2,
        seed: 5,
        steps: 8,
        eps1: 0.1,
        eps3: 0.5,
        lr: 0.2,
      };
      const a = await sample(opts);
      const b = await sample(opts);
      const s = sampleSync(opts);
      const d = await sample({ ...opts, seed: 6 });
      const ha = Array.from(a.h.dataSync());
      expect(Array.from(b.h.dataSync())).toEqual(ha);
      expect(Array.from(s.h.dataSync())).toEqual(ha);
      expect(b.trace).toEqual(a.trace);
      expect(Array.from(d.h.dataSync())).not.toEqual(ha);
      for (const r of [a, b, s, d]) r.dispose();
    });

    it('frees every tensor: numTensors is flat over 200 steps (all terms, inpainting, resets, frames)', async () => {
      const g = sigmoidGenerator(8, [4, 4, 1], 4);
      const image = tf.fill([4, 4, 1], 0.5);
      const mask = tf.tensor2d([1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0], [4, 4]);
      const c0 = linearClassifier(matrix(16, 3, 1), [4, 4, 1], 0);
      const c1 = targetCondition(0.9, [4, 4, 1]);
      const prior = halfDaePrior(new Array(8).fill(0.1));
      const before = tf.memory().numTensors;
      const counts: number[] = [];
      const r = await sample({
        generator: g,
        condition: [
          { fromStep: 0, condition: c0 },
          { fromStep: 100, condition: c1 },
        ],
        prior,
        terms: [userHTerm, userXTerm, priorTerm(halfPixelPrior(0.5), 0.1)],
        inpaint: { image, mask },
        reset: { every: 50, eps1: [1e-3, 1e-1] },
        exactTermTrace: true,
        batch: 2,
        seed: 1,
        steps: 200,
        eps3: 0.1,
        eps4: 0.5,
        lr: 0.1,
        saveH: true,
        onStep: () => {
          counts.push(tf.memory().numTensors);
        },
      });
      expect(counts).toHaveLength(200);
      expect(Math.max(...counts)).toBe(Math.min(...counts));
      expect(r.frames).toHaveLength(41);
      r.dispose();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([image, mask]);
    });

    it('a condition schedule switches which condition rises', async () => {
      const g = sigmoidGenerator(8, [4, 4, 1], 6);
      const W = matrix(16, 3, 12);
      const c0 = linearClassifier(W, [4, 4, 1], 0);
      const c2 = linearClassifier(W, [4, 4, 1], 2);
      const r = await sample({
        generator: g,
        condition: [
          { fromStep: 0, condition: c0 },
          { fromStep: 15, condition: c2 },
        ],
        batch: 2,
        seed: 2,
        steps: 30,
        lr: 0.05,
        eps3: 0,
        saveEvery: 15,
      });
      expect(r.trace[14]!.conditionId).toBe('linear-class(0)');
      expect(r.trace[15]!.conditionId).toBe('linear-class(2)');
      const lp = (c: Condition, f: number) =>
        tf.tidy(() => Array.from(c.logProb(tf.tensor4d(r.frames[f]!.images, r.frames[f]!.shape)).dataSync()));
      expect(r.frames.map((f) => f.step)).toEqual([0, 15, 30]);
      for (let i = 0; i < 2; i++) {
        expect(lp(c0, 1)[i]!).toBeGreaterThan(lp(c0, 0)[i]!); // first half: class 0 rises
        expect(lp(c2, 2)[i]!).toBeGreaterThan(lp(c2, 1)[i]!); // second half: class 2 rises
        expect(lp(c0, 2)[i]!).toBeLessThan(lp(c0, 1)[i]!); // ... at class 0's expense
      }
      r.dispose();
    });

    describe('inpainting', () => {
      const shape: ImageShape = [4, 4, 1];
      const realValues = matrix(1, 16, 33)[0]!.map((v) => 0.5 + 0.4 * v);
      const holeValues = [1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0];

      it('leaves the known region of the composite exactly the real image', async () => {
        const g = sigmoidGenerator(8, shape, 7);
        const image = tf.tensor4d(realValues, [1, ...shape]);
        const mask = tf.tensor3d(holeValues, shape);
        const r = await sample({
          generator: g,
          condition: targetCondition(1, shape),
          inpaint: { image, mask },
          ...PRESETS.inpainting,
          batch: 3,
          seed: 3,
          lr: 0.1,
        });
        const imgs = rows(r.images.dataSync(), 16);
        const gen = rows(r.generated.dataSync(), 16);
        for (let i = 0; i < 3; i++) {
          holeValues.forEach((m, j) => {
            if (m === 0) expect(imgs[i]![j]).toBe(Math.fround(realValues[j]!));
            else expect(imgs[i]![j]).toBe(gen[i]![j]);
          });
        }
        // frames show the composite too
        const f = rows(r.frames[1]!.images, 16);
        holeValues.forEach((m, j) => {
          if (m === 0) expect(f[0]![j]).toBe(Math.fround(realValues[j]!));
        });
        r.dispose();
        tf.dispose([image, mask]);
      });

      it('the context term reduces the known-region error', async () => {
        const g = sigmoidGenerator(8, shape, 7);
        const image = tf.tensor4d(realValues, [1, ...shape]);
        const mask = tf.tensor3d(holeValues, shape);
        const known = tf.sub(1, tf.reshape(mask, [1, ...shape]));
        const base: SampleOptions = {
          generator: g,
          condition: targetCondition(1, shape),
          inpaint: { image, mask },
          batch: 3,
          seed: 3,
          steps: 40,
          lr: 0.05,
          eps2: 0.2,
          eps3: 0,
        };
        const withCtx = await sample({ ...base, eps4: 1 });
        const without = await sample({ ...base, eps4: 0 });
        const start = tf.tidy(() => g.generate(createRng(3).normalTensor([3, 8])));
        const eStart = knownError(start, image, known);
        const eWith = knownError(withCtx.generated, image, known);
        const eWithout = knownError(without.generated, image, known);
        for (let i = 0; i < 3; i++) {
          expect(eWith[i]!).toBeLessThan(eWithout[i]!);
          expect(eWith[i]!).toBeLessThan(eStart[i]!);
        }
        withCtx.dispose();
        without.dispose();
        tf.dispose([image, mask, known, start]);
      });

      it('starts from E(masked image) when an encoder is given', async () => {
        const g = sigmoidGenerator(3, IMG, 7);
        const E = tf.tensor2d(matrix(4, 3, 2));
        const encoder: Encoder = {
          id: 'linear-encoder',
          imageShape: IMG,
          codeShape: [3],
          describe: () => 'linear',
          encode: (x) => tf.tidy(() => tf.matMul(tf.reshape(x, [x.shape[0], 4]), E)) as tf.Tensor2D,
          dispose: () => E.dispose(),
        };
        const real = [0.6, 0.1, 0.8, 0.3];
        const mask = [1, 0, 1, 0];
        const image = tf.tensor3d(real, IMG);
        const maskT = tf.tensor2d(mask, [2, 2]);
        const r = await sample({ generator: g, inpaint: { image, mask: maskT, encoder }, batch: 2, seed: 1, steps: 0 });
        const expected = matMul([real.map((v, j) => v * (1 - mask[j]!))], matrix(4, 3, 2))[0]!;
        const h = rows(r.h.dataSync(), 3);
        expect(maxRelDiff(h, [expected, expected])).toBeLessThan(1e-5);
        r.dispose();
        // With a fill, E sees it in the hole: a number, or an image per chain.
        const fillImages = [
          [0.2, 0.9, 0.4, 0.7],
          [0.5, 0.3, 0.1, 0.6],
        ];
        const fillT = tf.tensor4d(fillImages.flat(), [2, ...IMG]);
        for (const [fill, fills] of [
          [0.25, [new Array(4).fill(0.25), new Array(4).fill(0.25)]],
          [fillT, fillImages],
        ] as const) {
          const before = tf.memory().numTensors;
          const f = await sample({ generator: g, inpaint: { image, mask: maskT, encoder, fill }, batch: 2, seed: 1, steps: 0 });
          const want = fills.map((row) => matMul([real.map((v, j) => v * (1 - mask[j]!) + row[j]! * mask[j]!)], matrix(4, 3, 2))[0]!);
          expect(maxRelDiff(rows(f.h.dataSync(), 3), want)).toBeLessThan(1e-5);
          f.dispose();
          expect(tf.memory().numTensors).toBe(before);
        }
        tf.dispose([image, maskT, E, fillT]);
      });
    });

    it("a user's own tfjs model as a Condition: log p rises", async () => {
      const model = tf.sequential({
        layers: [tf.layers.flatten({ inputShape: [4, 4, 1] }), tf.layers.dense({ units: 4, kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }) })],
      });
      const condition: Condition = {
        id: 'my-model(3)',
        imageShape: [4, 4, 1],
        describe: () => 'class 3 of my model',
        logProb: (x) => tf.tidy(() => tf.reshape(tf.slice(tf.logSoftmax(model.apply(x) as tf.Tensor2D), [0, 3], [-1, 1]), [-1])) as tf.Tensor1D,
        dispose: () => model.dispose(),
      };
      const r = await sample({ generator: sigmoidGenerator(8, [4, 4, 1], 9), condition, batch: 2, seed: 8, steps: 20, lr: 0.1 });
      for (let i = 0; i < 2; i++) expect(r.logProb![i]!).toBeGreaterThan(r.trace[0]!.logProb![i]!);
      r.dispose();
      condition.dispose();
    });

    it('saves frames every saveEvery steps (start and end included), with h on request', async () => {
      const g = sigmoidGenerator(8, [4, 4, 1], 2);
      const init = createRng(77).normalTensor([2, 8]);
      const r = await sample({ generator: g, condition: targetCondition(0.8), init, batch: 2, seed: 1, steps: 10, saveEvery: 5, saveH: true, lr: 0.1 });
      expect(r.frames.map((f) => f.step)).toEqual([0, 5, 10]);
      const x0 = tf.tidy(() => Array.from(g.generate(init).dataSync()));
      expect(Array.from(r.frames[0]!.images)).toEqual(x0);
      expect(Array.from(r.frames[0]!.h!)).toEqual(Array.from(init.dataSync()));
      expect(Array.from(r.frames[2]!.images)).toEqual(Array.from(r.images.dataSync()));
      expect(r.frames[2]!.shape).toEqual([2, 4, 4, 1]);
      r.dispose();
      init.dispose();
    });

    it('resets re-draw h and eps1 per chain every K steps', async () => {
      const g = sigmoidGenerator(8, [2, 2, 1]);
      const r = await sample({
        generator: g,
        prior: halfDaePrior(new Array(8).fill(0)),
        reset: { every: 4, eps1: [1e-3, 1e-1] },
        batch: 3,
        seed: 1,
        steps: 12,
        lr: 0.05,
        saveEvery: 1,
        saveH: true,
      });
      expect(r.trace.map((t) => t.reset)).toEqual([false, false, false, false, true, false, false, false, true, false, false, false]);
      const e0 = r.trace[0]!.eps1;
      expect(new Set(e0).size).toBe(3);
      for (const e of [...e0, ...r.trace[4]!.eps1]) {
        expect(e).toBeGreaterThanOrEqual(1e-3);
        expect(e).toBeLessThan(1e-1);
      }
      expect(r.trace[3]!.eps1).toEqual(e0);
      expect(r.trace[4]!.eps1).not.toEqual(e0);
      // h jumps at the reset: the step-4 frame is no small move from step 3
      const jump = l2(Array.from(r.frames[4]!.h!).map((v, i) => v - r.frames[3]!.h![i]!));
      const move = l2(Array.from(r.frames[3]!.h!).map((v, i) => v - r.frames[2]!.h![i]!));
      expect(jump).toBeGreaterThan(5 * move);
      r.dispose();
    });

    it('follows the learning-rate schedule (caption preset: 1 -> 1e-10, linear)', async () => {
      const g = sigmoidGenerator(8, [2, 2, 1]);
      const r = await sample({ generator: g, condition: targetCondition(0.5), batch: 1, seed: 1, ...PRESETS.caption, steps: 11, saveEvery: 0 });
      expect(r.trace[0]!.lr).toBe(1);
      expect(r.trace[5]!.lr).toBeCloseTo(0.5, 8);
      expect(r.trace[10]!.lr).toBeCloseTo(1e-10, 15);
      r.dispose();
    });

    it('awaits an async progress callback per step and stops on abort without leaking', async () => {
      const g = sigmoidGenerator(8, [2, 2, 1]);
      const seen: number[] = [];
      const r = await sample({
        generator: g,
        condition: targetCondition(0.5),
        batch: 1,
        seed: 1,
        steps: 5,
        onStep: async ({ step, steps }) => {
          await new Promise((res) => setTimeout(res, 1));
          seen.push(step);
          expect(steps).toBe(5);
        },
      });
      expect(seen).toEqual([0, 1, 2, 3, 4]);
      r.dispose();
      const condition = targetCondition(0.5);
      const before = tf.memory().numTensors;
      const controller = new AbortController();
      await expect(
        sample({
          generator: g,
          condition,
          batch: 1,
          seed: 1,
          steps: 50,
          signal: controller.signal,
          onStep: ({ step }) => {
            if (step === 2) controller.abort(new Error('stop here'));
          },
        }),
      ).rejects.toThrow('stop here');
      expect(tf.memory().numTensors).toBe(before);
    });

    it('detach: a copy that gradients do not flow through', () => {
      const x = tf.tensor1d([1, 2, 3]);
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(v, detach(tf.mul(v, v)))))(x);
      // d/dv sum(v * stop(v^2)) = v^2 (not 3 v^2)
      expect(Array.from(g.dataSync())).toEqual([1, 4, 9]);
      tf.dispose([x, g]);
    });
  });
}
