import { Rng } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { Generator } from '@ppgn/core';
import { composite, disposeInpaint, inpaintMask, prepareInpaint, startImage } from './inpaint.js';

function rows(mask: tf.Tensor): number[][] {
  return (tf.squeeze(mask, [2]).arraySync() as number[][]).map((r) => r.map((v) => Math.round(v)));
}

describe('inpaintMask', () => {
  it('makes halves and a centred square with 1 in the hole', () => {
    expect(rows(inpaintMask('left', 2, 4))).toEqual([
      [1, 1, 0, 0],
      [1, 1, 0, 0],
    ]);
    expect(rows(inpaintMask('bottom', 4, 2))).toEqual([
      [0, 0],
      [0, 0],
      [1, 1],
      [1, 1],
    ]);
    expect(rows(inpaintMask('center', 4, 4))).toEqual([
      [0, 0, 0, 0],
      [0, 1, 1, 0],
      [0, 1, 1, 0],
      [0, 0, 0, 0],
    ]);
  });

  it('places a random square of the given side inside the image, seeded', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 20; i++) {
      const m = inpaintMask('square', 28, 28, { size: 10, random: () => rng.uniform() });
      expect(m.shape).toEqual([28, 28, 1]);
      expect(tf.sum(m).dataSync()[0]).toBe(100);
      m.dispose();
    }
    const a = inpaintMask('square', 28, 28, { size: 10, random: () => new Rng(1).uniform() });
    const b = inpaintMask('square', 28, 28, { size: 10, random: () => new Rng(1).uniform() });
    expect(rows(a)).toEqual(rows(b));
  });

  it('names a bad mask kind or size', () => {
    expect(() => inpaintMask('diagonal' as 'left', 4, 4)).toThrow("unknown mask 'diagonal'; masks are square, left, right, top, bottom, center");
    expect(() => inpaintMask('square', 4, 4, { size: 5 })).toThrow('square side 5 does not fit a 4x4 image');
  });
});

describe('composite', () => {
  const generator: Generator = {
    id: 'g',
    latentShape: [1],
    imageShape: [2, 2, 1],
    describe: () => 'none',
    generate: () => {
      throw new Error('not used');
    },
    dispose: () => {},
  };

  it('mixes G(h) into the hole and the real image elsewhere, per chain, soft masks included', () => {
    const real = tf.tensor4d([0.1, 0.2, 0.3, 0.4], [1, 2, 2, 1]);
    const mask = tf.tensor2d([1, 0, 0.5, 0], [2, 2]);
    const before = tf.memory().numTensors;
    const state = prepareInpaint({ image: real, mask, fill: 0.8 }, generator, 2);
    const generated = tf.tensor4d([1, 1, 1, 1, 0, 0, 0, 0], [2, 2, 2, 1]);
    const out = composite(state, generated);
    const values = Array.from(out.dataSync());
    const want = [1, 0.2, 0.65, 0.4, 0, 0.2, 0.15, 0.4];
    values.forEach((v, i) => {
      expect(v).toBeCloseTo(want[i]!, 6);
    });
    // what E sees at the start: the fill in the hole, for every chain
    const start = startImage(state, 2);
    expect(start.shape).toEqual([2, 2, 2, 1]);
    Array.from(start.dataSync()).forEach((v, i) => {
      expect(v).toBeCloseTo([0.8, 0.2, 0.55, 0.4][i % 4]!, 6);
    });
    tf.dispose([generated, out, start]);
    disposeInpaint(state);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([real, mask]);
  });
});
