import * as tf from '@tensorflow/tfjs';
import { Rng } from '../rng.js';
import { describe, expect, it } from 'vitest';
import { batchReader } from './data.js';

const noCheck = () => {};

describe('batchReader', () => {
  it('draws seeded random batches from a whole set, without disposing the set', async () => {
    const set = tf.range(0, 10).reshape([10, 1]);
    const r = batchReader(set, 4, 'test', noCheck);
    const a = await r.next(0, new Rng(1));
    const b = await r.next(0, new Rng(1));
    expect(a.owned).toBe(true);
    expect(a.tensor.shape).toEqual([4, 1]);
    expect(Array.from(a.tensor.dataSync())).toEqual(Array.from(b.tensor.dataSync()));
    tf.dispose([a.tensor, b.tensor]);
    expect(set.isDisposed).toBe(false);
    set.dispose();
  });

  it('cycles through an array of batches and calls a function with the step', async () => {
    const list = [tf.scalar(1), tf.scalar(2)];
    const r = batchReader(list, 1, 'test', noCheck);
    expect((await r.next(3, new Rng(0))).tensor).toBe(list[1]);
    expect((await r.next(3, new Rng(0))).owned).toBe(false);
    const seen: number[] = [];
    const f = batchReader((step, size) => {
      seen.push(step);
      return tf.fill([size], step);
    }, 2, 'test', noCheck);
    const got = await f.next(7, new Rng(0));
    expect(seen).toEqual([7]);
    expect(Array.from(got.tensor.dataSync())).toEqual([7, 7]);
    got.tensor.dispose();
    tf.dispose(list);
  });

  it('skips the batches of restored steps on an iterator, and says when it runs out', async () => {
    async function* gen() {
      for (let i = 0; i < 3; i++) yield tf.scalar(i);
    }
    const r = batchReader(gen(), 1, 'test', noCheck);
    const before = tf.memory().numTensors;
    await r.skip(2);
    expect(tf.memory().numTensors).toBe(before);
    const b = await r.next(2, new Rng(0));
    expect(b.tensor.dataSync()[0]).toBe(2);
    b.tensor.dispose();
    await expect(r.next(3, new Rng(0))).rejects.toThrow('test: the data iterator ran out after 3 batches (at step 3)');
  });

  it('disposes a rejected batch and refuses bad batch sizes', async () => {
    const t = tf.zeros([2, 3]);
    const r = batchReader(() => t, 2, 'test', () => {
      throw new Error('bad batch');
    });
    await expect(r.next(0, new Rng(0))).rejects.toThrow('bad batch');
    expect(t.isDisposed).toBe(true);
    expect(() => batchReader(t, 0, 'who', noCheck)).toThrow('who: batchSize must be a positive integer, got 0');
  });
});
