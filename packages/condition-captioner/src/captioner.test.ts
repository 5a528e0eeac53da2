import { Rng } from '@ppgn/core';
import { describeConditionContract } from '@ppgn/core/testing';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { captionCondition } from './caption-condition.js';
import { type Captioner, buildCaptioner, captionLogProb, teacherForcing, tokenLogProbs } from './captioner.js';
import { BACKENDS, maxDiff, tinyCaptioner, useBackend } from './test-helpers.js';

const SHAPE: [number, number, number] = [32, 32, 3];
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** Row-major [rows, cols] weights of a decoder layer, as plain arrays. */
function layerWeights(c: Captioner, name: string): number[][] {
  return c.decoder.getLayer(name).getWeights().map((w) => Array.from(w.dataSync()));
}

/** x [n] times W [n, m] (row-major) plus b [m]. */
function affine(x: number[], w: number[], b: number[] | undefined, m: number): number[] {
  const out = b ? [...b] : new Array<number>(m).fill(0);
  x.forEach((xi, i) => {
    for (let j = 0; j < m; j++) out[j]! += xi * w[i * m + j]!;
  });
  return out;
}

function logSoftmax(z: number[]): number[] {
  const max = Math.max(...z);
  const lse = max + Math.log(z.reduce((a, v) => a + Math.exp(v - max), 0));
  return z.map((v) => v - lse);
}

/**
 * log p(caption | features) computed by hand: the LSTM run one step at a time in plain
 * numbers from the decoder's weights (gate order i, f, c, o), summing log p of each target.
 */
function handLogProb(c: Captioner, features: number[], ids: number[]): number {
  const V = c.vocabulary.size;
  const H = c.config.hidden;
  const [emb] = layerWeights(c, 'embedding') as [number[]];
  const [wh, bh] = layerWeights(c, 'init_h') as [number[], number[]];
  const [wc, bc] = layerWeights(c, 'init_c') as [number[], number[]];
  const [k, u, b] = layerWeights(c, 'lstm') as [number[], number[], number[]];
  const [wo, bo] = layerWeights(c, 'logits') as [number[], number[]];
  let h = affine(features, wh, bh, H).map(Math.tanh);
  let cell = affine(features, wc, bc, H).map(Math.tanh);
  const inputs = [c.vocabulary.bos, ...ids];
  const targets = [...ids, c.vocabulary.eos];
  let total = 0;
  inputs.forEach((token, t) => {
    const e = emb.slice(token * c.config.embed, (token + 1) * c.config.embed);
    const zx = affine([...e, ...features], k, b, 4 * H);
    const zh = affine(h, u, undefined, 4 * H);
    const z = zx.map((v, j) => v + zh[j]!);
    const gate = (g: number) => z.slice(g * H, (g + 1) * H);
    const i = gate(0).map(sigmoid);
    const f = gate(1).map(sigmoid);
    const g = gate(2).map(Math.tanh);
    const o = gate(3).map(sigmoid);
    cell = cell.map((cv, j) => f[j]! * cv + i[j]! * g[j]!);
    h = o.map((ov, j) => ov * Math.tanh(cell[j]!));
    total += logSoftmax(affine(h, wo, bo, V))[targets[t]!]!;
  });
  return total;
}

for (const backend of BACKENDS) {
  describe(`captioner on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    describeConditionContract('caption condition', () => captionCondition({ captioner: tinyCaptioner(1), caption: 'a red square' }), {
      isLogProbability: true,
    });
    describeConditionContract(
      'two-object caption condition',
      () => captionCondition({ captioner: tinyCaptioner(2), caption: 'a small blue circle left of a large yellow triangle' }),
      { isLogProbability: true, batch: 3 },
    );

    it('logProb is the sum of per-word teacher-forced log-probabilities, computed by hand', () => {
      expect(tf.getBackend()).toBe(backend);
      const c = tinyCaptioner(3);
      const x = new Rng(4).uniformTensor([2, ...SHAPE]) as tf.Tensor4D;
      const captions = ['a large green square below a white circle', 'a circle'];
      const lp = Array.from(captionLogProb(c, x, captions).dataSync());
      const feats = c.features(x);
      const f = feats.arraySync() as number[][];
      const expected = captions.map((cap, b) => handLogProb(c, f[b]!, c.vocabulary.encode(cap)));
      expect(maxDiff(lp, expected)).toBeLessThan(1e-4);
      // the same, read one step at a time from the decoder: prefix <bos> w1..wt, softmax at t
      for (const [b, cap] of captions.entries()) {
        const ids = c.vocabulary.encode(cap);
        const fb = tf.slice(feats, [b, 0], [1, -1]) as tf.Tensor2D;
        let sum = 0;
        for (let t = 0; t <= ids.length; t++) {
          const prefix = [c.vocabulary.bos, ...ids.slice(0, t)];
          const row = [...prefix, ...new Array<number>(c.steps - prefix.length).fill(c.vocabulary.pad)];
          const probs = tf.tidy(() => tf.softmax(c.logits(fb, tf.tensor2d([row], [1, c.steps], 'int32'))).arraySync()) as number[][][];
          const target = t < ids.length ? ids[t]! : c.vocabulary.eos;
          sum += Math.log(probs[0]![t]![target]!);
        }
        expect(Math.abs(sum - lp[b]!)).toBeLessThan(1e-4);
        fb.dispose();
      }
      // tokenLogProbs: normalised rows whose target entries sum to the same numbers
      const tokens = tokenLogProbs(c, x, captions.map((cap) => c.vocabulary.encode(cap)));
      const forcing = teacherForcing(c, captions.map((cap) => c.vocabulary.encode(cap)));
      const rows = tokens.arraySync() as number[][][];
      const picked = rows.map((r, b) =>
        r.reduce((a, p, t) => a + (forcing.mask[b * c.steps + t]! ? p[forcing.targets[b * c.steps + t]!]! : 0), 0),
      );
      expect(maxDiff(picked, lp)).toBeLessThan(1e-4);
      expect(Math.abs(rows[1]![7]!.reduce((a, v) => a + Math.exp(v), 0) - 1)).toBeLessThan(1e-5);
      tokens.dispose();
      // the condition scores the same caption for every image
      const cond = captionCondition({ captioner: c, caption: captions[0]! });
      const clp = Array.from(cond.logProb(x).dataSync());
      expect(Math.abs(clp[0]! - lp[0]!)).toBeLessThan(1e-5);
      expect(Math.abs(clp[1]! - handLogProb(c, f[1]!, c.vocabulary.encode(captions[0]!)))).toBeLessThan(1e-4);
      tf.dispose([x, feats]);
      c.dispose();
    });

    it('teacher forcing: <bos> w1..wn in, w1..wn <eos> out, the rest masked', () => {
      const c = tinyCaptioner(5, 4);
      const [a, red, sq] = c.vocabulary.encode('a red square');
      const tfc = teacherForcing(c, [[a!, red!, sq!], []]);
      expect(Array.from(tfc.inputs)).toEqual([1, a, red, sq, 0, 1, 0, 0, 0, 0]);
      expect(Array.from(tfc.targets)).toEqual([a, red, sq, 2, 0, 2, 0, 0, 0, 0]);
      expect(Array.from(tfc.mask)).toEqual([1, 1, 1, 1, 0, 1, 0, 0, 0, 0]);
      c.dispose();
    });

    it('gradient ascent on the image raises log p(caption | x)', () => {
      const c = tinyCaptioner(6);
      const cond = captionCondition({ captioner: c, caption: 'a yellow triangle' });
      let x = new Rng(7).uniformTensor([2, ...SHAPE]) as tf.Tensor4D;
      const before = Array.from(cond.logProb(x).dataSync());
      const grad = tf.grad((xx: tf.Tensor) => tf.sum(cond.logProb(xx as tf.Tensor4D)));
      for (let i = 0; i < 5; i++) {
        const g = grad(x);
        const next = tf.tidy(() => tf.clipByValue(tf.add(x, tf.mul(tf.sign(g), 0.02)), 0, 1)) as tf.Tensor4D;
        tf.dispose([x, g]);
        x = next;
      }
      const after = Array.from(cond.logProb(x).dataSync());
      for (const [b, v] of after.entries()) expect(v).toBeGreaterThan(before[b]! + 1e-3);
      x.dispose();
      c.dispose();
    });

    it('refuses bad captions and images with clear errors', () => {
      const c = tinyCaptioner(8, 3);
      const x = tf.zeros([2, ...SHAPE]) as tf.Tensor4D;
      expect(() => captionCondition({ captioner: c, caption: 'a red sqare' })).toThrow(
        `unknown word 'sqare' in "a red sqare"; nearest known: square,`,
      );
      expect(() => captionCondition({ captioner: c, caption: 'a small red square' })).toThrow(
        'captionCondition: "a small red square" has 4 words; the captioner takes at most 3',
      );
      expect(() => captionCondition({ captioner: c, caption: [3, 1] })).toThrow('captionCondition: 1 is not a word id (word ids are 3..18)');
      expect(() => captionLogProb(c, x, ['a circle'])).toThrow('captionLogProb: got 1 captions for 2 images');
      const small = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
      expect(() => captionLogProb(c, small, 'a circle')).toThrow('captionLogProb: expected 32x32x3 images, got 16x16x3');
      tf.dispose([x, small]);
      c.dispose();
    });

    it('is built the same from the same seed', () => {
      const a = tinyCaptioner(9);
      const b = buildCaptioner({ vocabulary: a.vocabulary, maxLength: 10, seed: 9, channels: [6, 8], features: 10, embed: 6, hidden: 9 });
      const d = tinyCaptioner(10);
      const sums = (c: Captioner) => [...c.encoder.getWeights(), ...c.decoder.getWeights()].map((w) => w.sum().dataSync()[0]!);
      expect(sums(a)).toEqual(sums(b));
      expect(sums(a)).not.toEqual(sums(d));
      // the LSTM's forget-gate bias starts at 1, the rest at 0
      const bias = Array.from(a.decoder.getLayer('lstm').getWeights()[2]!.dataSync());
      expect(bias).toEqual([...new Array(9).fill(0), ...new Array(9).fill(1), ...new Array(18).fill(0)]);
      expect(a.describe()).toMatch(/^captioner: CNN \[6\/2, 8\/2\] -> 10 features -> LSTM 9 \(embed 6, 19 tokens, up to 10 words\), \d+ weights$/);
      const e = buildCaptioner({ vocabulary: ['a', 'b'], maxLength: 3, channels: [4, 5], strides: [1, 2], features: 3, embed: 2, hidden: 3 });
      expect(e.encoder.getLayer('conv2').outputShape).toEqual([null, 16, 16, 5]);
      expect(e.describe()).toMatch(/^captioner: CNN \[4, 5\/2\] -> 3 features/);
      expect(() => buildCaptioner({ vocabulary: ['a'], maxLength: 3, channels: [4, 5], strides: [1] })).toThrow(
        'buildCaptioner: 1 strides for 2 convolutions',
      );
      expect(() => buildCaptioner({ vocabulary: ['a'], maxLength: 0 })).toThrow('buildCaptioner: maxLength must be a positive integer, got 0');
      for (const c of [a, b, d, e]) c.dispose();
    });
  });
}
