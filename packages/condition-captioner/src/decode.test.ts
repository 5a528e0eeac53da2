import { Rng } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Captioner, captionLogProb } from './captioner.js';
import { beamSearchCaption, greedyCaption } from './decode.js';
import { BACKENDS, tinyCaptioner, useBackend } from './test-helpers.js';

const SHAPE: [number, number, number] = [32, 32, 3];

/** The captioner's own score of each result, for checking the reported logProb. */
function scores(c: Captioner, x: tf.Tensor4D, ids: number[][]): number[] {
  return tf.tidy(() => Array.from(captionLogProb(c, x, ids).dataSync()));
}

function expectValid(c: Captioner, r: { caption: string; ids: number[] }): void {
  expect(r.ids.length).toBeLessThanOrEqual(c.maxLength);
  for (const id of r.ids) expect(c.vocabulary.isSpecial(id)).toBe(false);
  expect(r.caption).toBe(c.vocabulary.decode(r.ids));
  if (r.ids.length > 0) expect(c.vocabulary.encode(r.caption)).toEqual(r.ids);
}

/** A captioner whose decoder strongly prefers `a red square <eos>`: logits bias set by hand. */
function steered(seed: number): Captioner {
  const c = tinyCaptioner(seed, 6);
  const layer = c.decoder.getLayer('logits');
  const [kernel] = layer.getWeights() as [tf.Tensor]; // the live variable: not disposed
  // the same preference at every step, so greedy decoding repeats the favourite word
  const b = new Float32Array(c.vocabulary.size);
  b[c.vocabulary.idOf('red')!] = 6;
  b[c.vocabulary.eos] = 3;
  const values = [tf.mul(kernel, 0.01), tf.tensor1d(b)];
  layer.setWeights(values);
  tf.dispose(values);
  return c;
}

for (const backend of BACKENDS) {
  describe(`decoding on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    it('greedy decoding returns valid captions with their log-probabilities, leaking nothing', () => {
      const c = tinyCaptioner(11);
      const x = new Rng(12).uniformTensor([3, ...SHAPE]) as tf.Tensor4D;
      const out = greedyCaption(c, x);
      expect(out).toHaveLength(3);
      for (const r of out) expectValid(c, r);
      const s = scores(c, x, out.map((r) => r.ids));
      for (const [i, r] of out.entries()) expect(Math.abs(r.logProb - s[i]!)).toBeLessThan(1e-4);
      const before = tf.memory().numTensors;
      greedyCaption(c, x);
      beamSearchCaption(c, tf.slice(x, 0, 1) as tf.Tensor4D, { beamWidth: 3 });
      expect(tf.memory().numTensors).toBe(before + 1); // the slice
      x.dispose();
      c.dispose();
    });

    it('greedy picks the most likely word each step; maxLength words then <eos>', () => {
      const c = steered(13);
      const x = new Rng(14).uniformTensor([2, ...SHAPE]) as tf.Tensor4D;
      const out = greedyCaption(c, x);
      // 'red' beats <eos> at every step, so it runs to maxLength words and <eos> is forced
      expect(out.map((r) => r.caption)).toEqual(['red red red red red red', 'red red red red red red']);
      x.dispose();
      c.dispose();
    });

    it('beam search finds captions at least as likely as greedy, best first, and equals greedy at width 1', () => {
      for (const seed of [15, 16, 17]) {
        const c = tinyCaptioner(seed, 4);
        const x = new Rng(seed).uniformTensor([1, ...SHAPE]) as tf.Tensor4D;
        const [greedy] = greedyCaption(c, x);
        const one = beamSearchCaption(c, x, { beamWidth: 1 });
        expect(one).toHaveLength(1);
        expect(one[0]!.ids).toEqual(greedy!.ids);
        expect(Math.abs(one[0]!.logProb - greedy!.logProb)).toBeLessThan(1e-5);
        const beams = beamSearchCaption(c, tf.squeeze(x, [0]) as tf.Tensor3D, { beamWidth: 4 });
        expect(beams.length).toBeGreaterThan(0);
        expect(beams.length).toBeLessThanOrEqual(4);
        expect(beams[0]!.logProb).toBeGreaterThanOrEqual(greedy!.logProb - 1e-5);
        for (let i = 1; i < beams.length; i++) expect(beams[i]!.logProb).toBeLessThanOrEqual(beams[i - 1]!.logProb);
        expect(new Set(beams.map((b) => b.caption)).size).toBe(beams.length);
        for (const b of beams) expectValid(c, b);
        const s = scores(c, tf.tile(x, [beams.length, 1, 1, 1]) as tf.Tensor4D, beams.map((b) => b.ids));
        for (const [i, b] of beams.entries()) expect(Math.abs(b.logProb - s[i]!)).toBeLessThan(1e-4);
        x.dispose();
        c.dispose();
      }
    });

    it('beam search over a small space: a wide beam returns every caption in order', () => {
      // maxLength 2 over 16 words: 1 + 16 + 256 captions, scored exhaustively
      const c = tinyCaptioner(18, 2);
      const x = new Rng(19).uniformTensor([1, ...SHAPE]) as tf.Tensor4D;
      const words = c.vocabulary.words.map((w) => c.vocabulary.idOf(w)!);
      const all: number[][] = [[], ...words.map((w) => [w]), ...words.flatMap((a) => words.map((b) => [a, b]))];
      const s = scores(c, tf.tile(x, [all.length, 1, 1, 1]) as tf.Tensor4D, all);
      const best = s.indexOf(Math.max(...s));
      // a beam wider than every step's candidates keeps everything: all captions, best first
      const beams = beamSearchCaption(c, x, { beamWidth: 300 });
      expect(beams).toHaveLength(all.length);
      expect(beams[0]!.ids).toEqual(all[best]);
      const sorted = [...s].sort((a, b) => b - a);
      for (const [i, b] of beams.entries()) expect(Math.abs(b.logProb - sorted[i]!)).toBeLessThan(1e-4);
      // a narrow beam can miss the best, never beat it
      expect(beamSearchCaption(c, x, { beamWidth: 2 })[0]!.logProb).toBeLessThanOrEqual(s[best]! + 1e-5);
      x.dispose();
      c.dispose();
    });

    it('refuses a batch and a bad beam width', () => {
      const c = tinyCaptioner(20, 3);
      const x = tf.zeros([2, ...SHAPE]) as tf.Tensor4D;
      expect(() => beamSearchCaption(c, x)).toThrow('beamSearchCaption: takes one image, got a batch of 2');
      expect(() => beamSearchCaption(c, tf.slice(x, 0, 1) as tf.Tensor4D, { beamWidth: 0 })).toThrow(
        'beamWidth must be a positive integer, got 0',
      );
      expect(() => greedyCaption(c, tf.zeros([1, 8, 8, 3]) as tf.Tensor4D)).toThrow('greedyCaption: expected 32x32x3 images, got 8x8x3');
      x.dispose();
      c.dispose();
    });
  });
}
