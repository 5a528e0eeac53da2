import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { arrayDataset, batches, type Dataset, pad, split, subset, subsetByClass } from './dataset.js';

/** 12 items of 2x2x1; item i has every pixel = i / 255 and label i % 3. */
function tiny(n = 12): Dataset {
  const pixels = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) pixels.fill(i, i * 4, i * 4 + 4);
  return arrayDataset({
    name: 'tiny',
    imageShape: [2, 2, 1],
    classNames: ['a', 'b', 'c'],
    labels: Int32Array.from({ length: n }, (_, i) => i % 3),
    pixels,
    captions: Array.from({ length: n }, (_, i) => `item ${i}`),
  });
}

/** Which items a batch of `tiny` images holds (pixel value * 255). */
function ids(x: tf.Tensor): number[] {
  const d = x.dataSync();
  return Array.from({ length: x.shape[0]! }, (_, k) => Math.round(d[k * 4]! * 255));
}

describe('arrayDataset', () => {
  it('reads ranges and index lists in [0, 1], NHWC', () => {
    const ds = tiny();
    const a = ds.images({ start: 3, end: 6 });
    expect(a.shape).toEqual([3, 2, 2, 1]);
    expect(ids(a)).toEqual([3, 4, 5]);
    const b = ds.images([7, 0, 7]);
    expect(ids(b)).toEqual([7, 0, 7]);
    expect(b.dataSync()[0]).toBeCloseTo(7 / 255, 6);
    tf.dispose([a, b]);
  });

  it('keeps float pixels as they are', () => {
    const ds = arrayDataset({
      name: 'f',
      imageShape: [1, 1, 3],
      classNames: ['x'],
      labels: Int32Array.of(0),
      pixels: Float32Array.of(0.1, 0.5, 0.9),
    });
    const x = ds.images([0]);
    expect(Array.from(x.dataSync())).toEqual(Array.from(Float32Array.of(0.1, 0.5, 0.9)));
    x.dispose();
  });

  it('rejects bad indices and inconsistent arrays', () => {
    const ds = tiny();
    expect(() => ds.images([12])).toThrow(/index 12 .* outside \[0, 12\)/);
    expect(() => ds.images({ start: 5, end: 13 })).toThrow(/not within \[0, 12\]/);
    expect(() =>
      arrayDataset({ name: 'bad', imageShape: [2, 2, 1], classNames: ['a'], labels: Int32Array.of(0, 0), pixels: new Uint8Array(7) }),
    ).toThrow(/need 8 pixel values, got 7/);
    expect(() =>
      arrayDataset({ name: 'bad', imageShape: [1, 1, 1], classNames: ['a'], labels: Int32Array.of(1), pixels: new Uint8Array(1) }),
    ).toThrow(/label 1 of item 0/);
  });
});

describe('subset, split and subsetByClass', () => {
  it('subset maps indices, labels and captions', () => {
    const s = subset(tiny(), [9, 2]);
    expect(s.size).toBe(2);
    expect(Array.from(s.labels)).toEqual([0, 2]);
    expect(s.captions).toEqual(['item 9', 'item 2']);
    const x = s.images({ start: 0, end: 2 });
    expect(ids(x)).toEqual([9, 2]);
    x.dispose();
  });

  it('split is a fixed, disjoint cover of the dataset', () => {
    const ds = tiny(100);
    const a = split(ds, { test: 0.25, seed: 3 });
    const b = split(ds, { test: 0.25, seed: 3 });
    const c = split(ds, { test: 0.25, seed: 4 });
    expect(a.train.size).toBe(75);
    expect(a.test.size).toBe(25);
    const items = (d: Dataset) => d.captions!.map((s) => Number(s.split(' ')[1]));
    expect(items(a.test)).toEqual(items(b.test));
    expect(items(a.test)).not.toEqual(items(c.test));
    const all = [...items(a.train), ...items(a.test)].sort((p, q) => p - q);
    expect(all).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(split(ds, { test: 10, seed: 3 }).test.size).toBe(10);
    expect(() => split(ds, { test: 1.5, seed: 0 })).toThrow(/fraction in \(0, 1\) or a count/);
  });

  it('stratified split takes the same fraction of every class', () => {
    const labels = Int32Array.from({ length: 50 }, (_, i) => (i < 40 ? 0 : 1));
    const ds = arrayDataset({ name: 'u', imageShape: [1, 1, 1], classNames: ['a', 'b'], labels, pixels: new Uint8Array(50) });
    const { train, test } = split(ds, { test: 0.2, seed: 1, stratify: true });
    const count = (d: Dataset, c: number) => d.labels.filter((l) => l === c).length;
    expect([count(train, 0), count(test, 0), count(train, 1), count(test, 1)]).toEqual([32, 8, 8, 2]);
  });

  it('subsetByClass keeps or renumbers labels', () => {
    const ds = tiny();
    const kept = subsetByClass(ds, ['c', 0]);
    expect(kept.size).toBe(8);
    expect(new Set(kept.labels)).toEqual(new Set([0, 2]));
    expect(kept.classNames).toEqual(['a', 'b', 'c']);
    const re = subsetByClass(ds, ['c', 'a'], { relabel: true });
    expect(re.classNames).toEqual(['c', 'a']);
    expect(Array.from(re.labels.slice(0, 4))).toEqual([1, 0, 1, 0]); // items 0 (a), 2 (c), 3 (a), 5 (c)
    const x = re.images({ start: 0, end: 4 });
    expect(ids(x)).toEqual([0, 2, 3, 5]);
    x.dispose();
    expect(() => subsetByClass(ds, ['d'])).toThrow(/unknown class "d"/);
  });
});

describe('pad', () => {
  it('centres images in a border of the given value', () => {
    const p = pad(tiny(), [5, 4], { value: 1 });
    expect(p.imageShape).toEqual([5, 4, 1]);
    const x = p.images([6]);
    expect(x.shape).toEqual([1, 5, 4, 1]);
    const rows = (x.reshape([5, 4]).arraySync() as number[][]).map((r) => r.map((v) => Math.round(v * 255)));
    expect(rows).toEqual([
      [255, 255, 255, 255],
      [255, 6, 6, 255],
      [255, 6, 6, 255],
      [255, 255, 255, 255],
      [255, 255, 255, 255],
    ]);
    x.dispose();
    expect(() => pad(tiny(), 1)).toThrow(/cannot pad 2x2 images to 1x1/);
  });
});

describe('batches', () => {
  it('covers every item once per epoch, reproducibly, with matching labels', async () => {
    const ds = tiny(10);
    const seen: number[][] = [];
    const before = tf.memory().numTensors;
    for await (const b of batches(ds, { batchSize: 4, seed: 5, epochs: 2, oneHot: true })) {
      const got = ids(b.x);
      expect(got).toEqual(Array.from(b.indices));
      expect(Array.from(b.y.dataSync())).toEqual(got.map((i) => i % 3));
      expect(b.oneHot!.shape).toEqual([got.length, 3]);
      const hot = b.oneHot!.arraySync();
      expect(hot.map((row) => row.indexOf(1))).toEqual(got.map((i) => i % 3));
      expect(hot.map((row) => row.reduce((s, v) => s + v, 0))).toEqual(got.map(() => 1));
      seen.push(got);
      tf.dispose([b.x, b.y, b.oneHot!]);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(seen.map((s) => s.length)).toEqual([4, 4, 2, 4, 4, 2]);
    const epoch0 = seen.slice(0, 3).flat();
    const epoch1 = seen.slice(3).flat();
    expect([...epoch0].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect([...epoch1].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(epoch0).not.toEqual(epoch1);
    const again: number[] = [];
    for await (const b of batches(ds, { batchSize: 4, seed: 5 })) {
      again.push(...b.indices);
      tf.dispose([b.x, b.y]);
    }
    expect(again).toEqual(epoch0);
  });

  it('reads in order without shuffle and can drop the remainder', async () => {
    const got: number[][] = [];
    for await (const b of batches(tiny(10), { batchSize: 4, shuffle: false, dropRemainder: true })) {
      got.push(Array.from(b.indices));
      tf.dispose([b.x, b.y]);
    }
    expect(got).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    await expect(batches(tiny(), { batchSize: 0 }).next()).rejects.toThrow(/batchSize must be a positive integer/);
  });
});
