import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { EMOJI_EXCLUDED_CATEGORIES, emoji, resolveEmojiPackage } from './emoji.js';

function installed(set: 'twitter' | 'apple'): boolean {
  try {
    resolveEmojiPackage(set);
    return true;
  } catch {
    return false;
  }
}

const hasTwitter = installed('twitter');

describe('emoji', () => {
  it.skipIf(!hasTwitter)('loads 64x64 emoji as 32x32 RGB on white, labelled by category (needs emoji-datasource-twitter)', async () => {
    const t0 = performance.now();
    const ds = await emoji({ categories: ['Food & Drink', 'Animals & Nature'] });
    console.log(`emoji: ${ds.size} items in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(ds.classNames).toEqual(['Food & Drink', 'Animals & Nature']);
    expect(ds.imageShape).toEqual([32, 32, 3]);
    const counts = ds.classNames.map((_, c) => ds.labels.filter((l) => l === c).length);
    expect(Math.min(...counts)).toBeGreaterThan(80);
    expect(ds.entries.every((e, i) => e.category === ds.classNames[ds.labels[i]!])).toBe(true);
    // items are in class order
    expect(Array.from(ds.labels)).toEqual([...ds.labels].sort((a, b) => a - b));
    const i = ds.captions.indexOf('taco');
    expect(i).toBeGreaterThanOrEqual(0);
    expect(ds.captions.every((c) => c.length > 0 && c === c.toLowerCase())).toBe(true);
    const x = ds.images([i]);
    const d = x.dataSync();
    // white corners (transparent composited on white), coloured middle
    expect(Array.from(d.subarray(0, 3))).toEqual([1, 1, 1]);
    const mid = (16 * 32 + 16) * 3;
    const [r, g, b] = [d[mid]!, d[mid + 1]!, d[mid + 2]!];
    expect(Math.max(r, g, b) - Math.min(r, g, b)).toBeGreaterThan(0.2);
    x.dispose();
    // the same options come from the cache; another background changes the corners
    expect(await emoji({ categories: ['Food & Drink', 'Animals & Nature'] })).toBe(ds);
    const dark = await emoji({ categories: ['Food & Drink'], background: 0, size: 16 });
    const y = dark.images([dark.captions.indexOf('taco')]);
    expect(y.shape).toEqual([1, 16, 16, 3]);
    expect(Array.from(y.dataSync().subarray(0, 3))).toEqual([0, 0, 0]);
    y.dispose();
  });

  it.skipIf(!hasTwitter)('loads every category but the excluded ones by default and names bad categories', async () => {
    const ds = await emoji({ size: 8 });
    expect(ds.size).toBeGreaterThan(1000);
    for (const c of EMOJI_EXCLUDED_CATEGORIES) expect(ds.classNames).not.toContain(c);
    expect(ds.classNames).toEqual([...ds.classNames].sort());
    expect(ds.classNames).toContain('Flags');
    const x = ds.images({ start: 0, end: 10 });
    expect(tf.min(x).dataSync()[0]).toBeGreaterThanOrEqual(0);
    x.dispose();
    await expect(emoji({ categories: ['Dinosaurs'] })).rejects.toThrow(/unknown category "Dinosaurs"; .*"Food & Drink"/);
  });

  it.skipIf(installed('apple'))('says which package to install when the image set is absent', async () => {
    await expect(emoji({ set: 'apple' })).rejects.toThrow(
      /optional package emoji-datasource-apple is not installed.*pnpm add emoji-datasource-apple/,
    );
  });
});
