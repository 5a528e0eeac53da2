import { Rng } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { inpaintMask } from './inpaint.js';

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
