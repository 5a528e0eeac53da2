import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { arrayDataset, type Dataset } from './dataset.js';

/** The CIFAR-10 class names, used when a folder has no `batches.meta.txt`. */
export const CIFAR10_CLASS_NAMES: readonly string[] = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

/** Bytes per CIFAR-10 record: 1 label byte + 32 * 32 * 3 pixel bytes. */
export const CIFAR10_RECORD_BYTES = 3073;

/** The records of one CIFAR-10 binary file. */
export interface Cifar10Batch {
  /** Number of records. */
  size: number;
  /** Label byte of each record. */
  labels: Int32Array;
  /** size x 32 x 32 x 3 bytes, NHWC (pixel = byte / 255). */
  pixels: Uint8Array;
}

/**
 * Reads one file of the official CIFAR-10 binary format (`data_batch_N.bin`,
 * `test_batch.bin`): records of 1 label byte then 3072 pixel bytes, the 1024 red values,
 * then green, then blue, each plane 32x32 row-major. Pixels come back interleaved (NHWC).
 * Throws, naming the file and its length, when the length is not a multiple of 3073.
 */
export async function readCifar10Batch(file: string): Promise<Cifar10Batch> {
  const bytes = await readFile(file);
  if (bytes.length % CIFAR10_RECORD_BYTES !== 0) {
    throw new Error(
      `readCifar10Batch: ${file} is ${bytes.length} bytes, not a multiple of the ${CIFAR10_RECORD_BYTES}-byte CIFAR-10 record`,
    );
  }
  const size = bytes.length / CIFAR10_RECORD_BYTES;
  const labels = new Int32Array(size);
  const pixels = new Uint8Array(size * 3072);
  for (let r = 0; r < size; r++) {
    const rec = r * CIFAR10_RECORD_BYTES;
    labels[r] = bytes[rec]!;
    const dst = r * 3072;
    for (let p = 0; p < 1024; p++) {
      pixels[dst + p * 3] = bytes[rec + 1 + p]!;
      pixels[dst + p * 3 + 1] = bytes[rec + 1 + 1024 + p]!;
      pixels[dst + p * 3 + 2] = bytes[rec + 1 + 2048 + p]!;
    }
  }
  return { size, labels, pixels };
}

/** Options of `cifar10`. */
export interface Cifar10Options {
  /** 'train' (every `data_batch_N.bin`, by N; default), 'test' (`test_batch.bin`) or 'all' (train then test). */
  split?: 'train' | 'test' | 'all';
}

/**
 * CIFAR-10 from a folder of the official binary distribution (`cifar-10-batches-bin`):
 * 32x32x3 images, class names from `batches.meta.txt` (one per line; the standard names
 * when the file is absent). Nothing is downloaded: the folder must be there.
 */
export async function cifar10(dir: string, options: Cifar10Options = {}): Promise<Dataset> {
  const part = options.split ?? 'train';
  if (part !== 'train' && part !== 'test' && part !== 'all') {
    throw new Error(`cifar10: split must be 'train', 'test' or 'all', got ${JSON.stringify(part)}`);
  }
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new Error(`cifar10: cannot read folder ${dir}: ${(err as Error).message}`);
  }
  const trainFiles = names
    .map((n) => ({ n, m: /^data_batch_(\d+)\.bin$/.exec(n) }))
    .filter((e) => e.m !== null)
    .sort((a, b) => Number(a.m![1]) - Number(b.m![1]))
    .map((e) => join(dir, e.n));
  const files: string[] = [];
  if (part !== 'test') {
    if (trainFiles.length === 0) throw new Error(`cifar10: ${dir} has no data_batch_N.bin files`);
    files.push(...trainFiles);
  }
  if (part !== 'train') {
    if (!names.includes('test_batch.bin')) throw new Error(`cifar10: ${dir} has no test_batch.bin`);
    files.push(join(dir, 'test_batch.bin'));
  }
  const classNames = names.includes('batches.meta.txt')
    ? (await readFile(join(dir, 'batches.meta.txt'), 'utf8'))
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l.length > 0)
    : [...CIFAR10_CLASS_NAMES];
  const batches = await Promise.all(files.map((f) => readCifar10Batch(f)));
  const total = batches.reduce((n, b) => n + b.size, 0);
  const labels = new Int32Array(total);
  const pixels = new Uint8Array(total * 3072);
  let at = 0;
  batches.forEach((b, k) => {
    const bad = b.labels.findIndex((l) => l >= classNames.length);
    if (bad >= 0) {
      throw new Error(`cifar10: record ${bad} of ${files[k]} has label ${b.labels[bad]} but there are ${classNames.length} classes`);
    }
    labels.set(b.labels, at);
    pixels.set(b.pixels, at * 3072);
    at += b.size;
  });
  return arrayDataset({ name: `cifar10/${part}`, imageShape: [32, 32, 3], classNames, labels, pixels });
}
