import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CIFAR10_CLASS_NAMES, cifar10, readCifar10Batch } from './cifar10.js';

/** The colour byte of channel c at (x, y) of record r: a pattern no two positions share cheaply. */
const value = (r: number, x: number, y: number, c: number) => (r * 37 + x * 5 + y * 11 + c * 101) % 256;

/** Writes records in the official layout: label, then the R plane, G plane, B plane (32x32 row-major). */
function writeBatch(file: string, labels: number[], firstRecord: number): void {
  const out = Buffer.alloc(labels.length * 3073);
  labels.forEach((label, k) => {
    const r = firstRecord + k;
    const rec = k * 3073;
    out[rec] = label;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) out[rec + 1 + c * 1024 + y * 32 + x] = value(r, x, y, c);
      }
    }
  });
  writeFileSync(file, out);
}

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ppgn-cifar-'));
  // batch 10 must come after batch 2: numeric, not string, order
  writeBatch(join(dir, 'data_batch_10.bin'), [9], 3);
  writeBatch(join(dir, 'data_batch_2.bin'), [0, 1, 2], 0);
  writeBatch(join(dir, 'test_batch.bin'), [5, 7], 100);
  writeFileSync(join(dir, 'batches.meta.txt'), `${CIFAR10_CLASS_NAMES.map((n) => n.toUpperCase()).join('\n')}\n\n`);
  mkdirSync(join(dir, 'bad'));
  writeFileSync(join(dir, 'bad', 'data_batch_1.bin'), Buffer.alloc(3073 * 2 + 5));
  mkdirSync(join(dir, 'nometa'));
  writeBatch(join(dir, 'nometa', 'test_batch.bin'), [3], 0);
  writeBatch(join(dir, 'nometa', 'data_batch_1.bin'), [12], 0);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CIFAR-10 binary files', () => {
  it('reads records back exactly, planes interleaved to NHWC', async () => {
    const b = await readCifar10Batch(join(dir, 'data_batch_2.bin'));
    expect(b.size).toBe(3);
    expect(Array.from(b.labels)).toEqual([0, 1, 2]);
    for (let r = 0; r < 3; r++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          for (let c = 0; c < 3; c++) expect(b.pixels[((r * 32 + y) * 32 + x) * 3 + c]).toBe(value(r, x, y, c));
        }
      }
    }
  });

  it('loads train and test splits with class names from batches.meta.txt', async () => {
    const train = await cifar10(dir);
    expect(train.size).toBe(4);
    expect(Array.from(train.labels)).toEqual([0, 1, 2, 9]);
    expect(train.classNames).toEqual(CIFAR10_CLASS_NAMES.map((n) => n.toUpperCase()));
    expect(train.imageShape).toEqual([32, 32, 3]);
    const x = train.images([3]);
    const d = x.dataSync();
    // record 3 came from data_batch_10.bin; pixel (x=4, y=6), green
    expect(Math.round(d[(6 * 32 + 4) * 3 + 1]! * 255)).toBe(value(3, 4, 6, 1));
    x.dispose();
    const test = await cifar10(dir, { split: 'test' });
    expect(Array.from(test.labels)).toEqual([5, 7]);
    const t = test.images({ start: 0, end: 2 });
    const td = t.dataSync();
    expect(Math.round(td[3072 + (31 * 32 + 31) * 3 + 2]! * 255)).toBe(value(101, 31, 31, 2));
    t.dispose();
    expect((await cifar10(dir, { split: 'all' })).size).toBe(6);
  });

  it('names the file and its length when it is not whole records', async () => {
    const file = join(dir, 'bad', 'data_batch_1.bin');
    await expect(readCifar10Batch(file)).rejects.toThrow(`${file} is 6151 bytes, not a multiple of the 3073-byte`);
    await expect(cifar10(join(dir, 'bad'))).rejects.toThrow(/data_batch_1\.bin is 6151 bytes/);
  });

  it('falls back to the standard names and checks labels against them', async () => {
    const test = await cifar10(join(dir, 'nometa'), { split: 'test' });
    expect(test.classNames).toEqual(CIFAR10_CLASS_NAMES);
    await expect(cifar10(join(dir, 'nometa'))).rejects.toThrow(/record 0 of .*data_batch_1\.bin has label 12/);
    await expect(cifar10(join(dir, 'bad'), { split: 'test' })).rejects.toThrow(/has no test_batch\.bin/);
  });
});
