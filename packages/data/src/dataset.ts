import type { ImageShape } from '@ppgn/core';
import { createRng, shapeToString } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor1D, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';

/**
 * Which items to read: a list of indices (any order, repeats allowed) or a half-open
 * range `{ start, end }` (item `end` is not included).
 */
export type IndexSelection = ArrayLike<number> | { start: number; end: number };

/**
 * The common shape of every dataset: a fixed number of labelled images of one shape.
 * Images come out as NHWC float32 in [0, 1], the form every ppgn.js interface takes.
 */
export interface Dataset {
  /** Short identifier, e.g. `mnist/train` or `shapes(seed=1)`. */
  readonly name: string;
  /** [height, width, channels] of every image. */
  readonly imageShape: ImageShape;
  /** Name of each class; `labels[i]` indexes this list. */
  readonly classNames: readonly string[];
  /** Number of items. */
  readonly size: number;
  /** Class index of each item (length `size`). */
  readonly labels: Int32Array;
  /** An English caption per item, where the dataset has them (length `size`). */
  readonly captions?: readonly string[];
  /**
   * The selected images as a new `[n, H, W, C]` float32 tensor in [0, 1], in selection
   * order. The caller disposes it. Throws on an index outside `[0, size)`.
   */
  images(select: IndexSelection): Tensor4D;
}

/** Turns a selection into a checked list of indices, naming `who` in errors. */
export function resolveIndices(select: IndexSelection, size: number, who: string): Int32Array {
  if (isRange(select)) {
    const { start, end } = select;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > size || start > end) {
      throw new Error(`${who}: range {start: ${start}, end: ${end}} is not within [0, ${size}]`);
    }
    const out = new Int32Array(end - start);
    for (let i = 0; i < out.length; i++) out[i] = start + i;
    return out;
  }
  const out = new Int32Array(select.length);
  for (let i = 0; i < select.length; i++) {
    const v = select[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= size) {
      throw new Error(`${who}: index ${v} (position ${i}) is outside [0, ${size})`);
    }
    out[i] = v;
  }
  return out;
}

function isRange(select: IndexSelection): select is { start: number; end: number } {
  return typeof (select as { start?: unknown }).start === 'number' && !('length' in select);
}

/** What `arrayDataset` needs: every image held in one flat NHWC array. */
export interface ArrayDatasetArgs {
  name: string;
  imageShape: ImageShape;
  classNames: readonly string[];
  /** Class index per item. */
  labels: Int32Array;
  /**
   * All images, NHWC, item after item. A `Uint8Array` holds bytes (value / 255 is the
   * pixel); a `Float32Array` holds pixels in [0, 1] as they are.
   */
  pixels: Uint8Array | Float32Array;
  captions?: readonly string[];
}

/**
 * A dataset held in memory as one flat pixel array (bytes or floats). MNIST, image folders,
 * CIFAR-10 and emoji are all this; use it for your own arrays too.
 */
export function arrayDataset(args: ArrayDatasetArgs): Dataset {
  const { name, imageShape, classNames, labels, pixels, captions } = args;
  const per = imageShape[0] * imageShape[1] * imageShape[2];
  const size = labels.length;
  if (pixels.length !== size * per) {
    throw new Error(
      `arrayDataset(${name}): ${size} labels of ${shapeToString(imageShape)} images need ${size * per} pixel values, got ${pixels.length}`,
    );
  }
  if (captions !== undefined && captions.length !== size) {
    throw new Error(`arrayDataset(${name}): ${captions.length} captions for ${size} items`);
  }
  checkLabels(labels, classNames.length, name);
  const scale = pixels instanceof Uint8Array ? 1 / 255 : 1;
  return {
    name,
    imageShape,
    classNames,
    size,
    labels,
    ...(captions !== undefined ? { captions } : {}),
    images(select: IndexSelection): Tensor4D {
      const idx = resolveIndices(select, size, `${name}.images`);
      const out = new Float32Array(idx.length * per);
      for (let k = 0; k < idx.length; k++) {
        const src = idx[k]! * per;
        const dst = k * per;
        if (scale === 1) out.set(pixels.subarray(src, src + per), dst);
        else for (let j = 0; j < per; j++) out[dst + j] = pixels[src + j]! * scale;
      }
      return tf.tensor4d(out, [idx.length, imageShape[0], imageShape[1], imageShape[2]], 'float32');
    },
  };
}

function checkLabels(labels: Int32Array, numClasses: number, name: string): void {
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l < 0 || l >= numClasses) {
      throw new Error(`${name}: label ${l} of item ${i} is outside the ${numClasses} classes`);
    }
  }
}

/**
 * The items at `indices` of `dataset`, in that order, as a dataset of its own (a view: it
 * reads images through `dataset.images`). Labels, class names and captions carry over.
 */
export function subset(dataset: Dataset, indices: ArrayLike<number>, name = `${dataset.name}/subset`): Dataset {
  const idx = resolveIndices(indices, dataset.size, `subset(${dataset.name})`);
  const labels = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) labels[i] = dataset.labels[idx[i]!]!;
  const captions = dataset.captions;
  return {
    name,
    imageShape: dataset.imageShape,
    classNames: dataset.classNames,
    size: idx.length,
    labels,
    ...(captions !== undefined ? { captions: Array.from(idx, (i) => captions[i]!) } : {}),
    images(select: IndexSelection): Tensor4D {
      const own = resolveIndices(select, idx.length, `${name}.images`);
      return dataset.images(own.map((i) => idx[i]!));
    },
  };
}

/** Options of `split`. */
export interface SplitOptions {
  /** Size of the test part: a fraction in (0, 1) or a whole count in [0, size]. */
  test: number;
  /** Seed of the permutation that decides the split. */
  seed: number;
  /**
   * Split each class in the same proportion (default false). Class c of n_c items then
   * gives round(f * n_c) items to test, where f is the test fraction (count / size when a
   * count is given, so the test total may differ from that count by rounding).
   */
  stratify?: boolean;
}

/**
 * A fixed, reproducible train/test split. The rule: P = `createRng(seed).shuffle([0..size))`.
 * Without `stratify`, train is the first `size - nTest` items of P and test the rest.
 * With `stratify`, walking P in order, the first `n_c - round(f * n_c)` items of each
 * class c go to train and the rest to test. Both parts keep the order of P, so their
 * classes are mixed. The same dataset, test size and seed always give the same split.
 */
export function split(dataset: Dataset, options: SplitOptions): { train: Dataset; test: Dataset } {
  const { test, seed, stratify = false } = options;
  const n = dataset.size;
  let fraction: number;
  if (test > 0 && test < 1) fraction = test;
  else if (Number.isInteger(test) && test >= 0 && test <= n) fraction = n === 0 ? 0 : test / n;
  else throw new Error(`split(${dataset.name}): test must be a fraction in (0, 1) or a count in [0, ${n}], got ${test}`);
  const perm = createRng(seed).shuffle(Array.from({ length: n }, (_, i) => i));
  const trainIdx: number[] = [];
  const testIdx: number[] = [];
  if (stratify) {
    const counts = new Map<number, number>();
    for (const l of dataset.labels) counts.set(l, (counts.get(l) ?? 0) + 1);
    const trainLeft = new Map<number, number>();
    for (const [c, nc] of counts) trainLeft.set(c, nc - Math.round(fraction * nc));
    for (const i of perm) {
      const c = dataset.labels[i]!;
      const left = trainLeft.get(c)!;
      if (left > 0) {
        trainIdx.push(i);
        trainLeft.set(c, left - 1);
      } else testIdx.push(i);
    }
  } else {
    const nTest = test > 0 && test < 1 ? Math.round(test * n) : test;
    for (let k = 0; k < n; k++) (k < n - nTest ? trainIdx : testIdx).push(perm[k]!);
  }
  return {
    train: subset(dataset, trainIdx, `${dataset.name}/train`),
    test: subset(dataset, testIdx, `${dataset.name}/test`),
  };
}

/** Options of `subsetByClass`. */
export interface SubsetByClassOptions {
  /**
   * Renumber the kept classes 0..k-1 in the order given, with `classNames` cut down to
   * them (default false: labels and class names stay as they are).
   */
  relabel?: boolean;
}

/**
 * The items whose class is one of `classes` (indices or class names), in dataset order.
 */
export function subsetByClass(
  dataset: Dataset,
  classes: ReadonlyArray<number | string>,
  options: SubsetByClassOptions = {},
): Dataset {
  const wanted = classes.map((c) => {
    const k = typeof c === 'string' ? dataset.classNames.indexOf(c) : c;
    if (!Number.isInteger(k) || k < 0 || k >= dataset.classNames.length) {
      throw new Error(
        `subsetByClass(${dataset.name}): unknown class ${JSON.stringify(c)}; classes are ${dataset.classNames.map((n) => JSON.stringify(n)).join(', ')}`,
      );
    }
    return k;
  });
  const newLabel = new Map<number, number>(wanted.map((k, i) => [k, i]));
  const idx: number[] = [];
  for (let i = 0; i < dataset.size; i++) if (newLabel.has(dataset.labels[i]!)) idx.push(i);
  const names = wanted.map((k) => dataset.classNames[k]!);
  const view = subset(dataset, idx, `${dataset.name}[${names.join(',')}]`);
  if (!options.relabel) return view;
  const labels = view.labels.map((l) => newLabel.get(l)!);
  return { ...view, classNames: names, labels, images: view.images };
}

/** Options of `pad`. */
export interface PadOptions {
  /** Value of the added border, in [0, 1] (default 0, black). */
  value?: number;
}

/**
 * The dataset with every image padded to `to` ([H, W], or one number for a square),
 * centred; an odd difference puts the extra row/column at the bottom/right. For example
 * MNIST 28x28 -> 32x32 (2 pixels each side) for a 3-level Laplacian pyramid.
 */
export function pad(dataset: Dataset, to: number | [number, number], options: PadOptions = {}): Dataset {
  const [H, W] = typeof to === 'number' ? [to, to] : to;
  const [h, w, c] = dataset.imageShape;
  if (!Number.isInteger(H) || !Number.isInteger(W) || H < h || W < w) {
    throw new Error(`pad(${dataset.name}): cannot pad ${shapeToString([h, w])} images to ${shapeToString([H, W])}`);
  }
  const top = Math.floor((H - h) / 2);
  const left = Math.floor((W - w) / 2);
  const value = options.value ?? 0;
  return {
    name: `${dataset.name}/pad${H}x${W}`,
    imageShape: [H, W, c],
    classNames: dataset.classNames,
    size: dataset.size,
    labels: dataset.labels,
    ...(dataset.captions !== undefined ? { captions: dataset.captions } : {}),
    images(select: IndexSelection): Tensor4D {
      const x = dataset.images(select);
      const out = tf.pad(x, [[0, 0], [top, H - h - top], [left, W - w - left], [0, 0]], value);
      x.dispose();
      return out;
    },
  };
}

/** Options of `batches`. */
export interface BatchOptions {
  /** Items per batch. */
  batchSize: number;
  /** Seed of the shuffles (default 0). */
  seed?: number;
  /** Reshuffle before every epoch (default true); false reads items in dataset order. */
  shuffle?: boolean;
  /** Passes over the data (default 1). */
  epochs?: number;
  /** Also yield one-hot float32 labels `[n, numClasses]` (default false). */
  oneHot?: boolean;
  /** Skip the last batch of an epoch when it is smaller than `batchSize` (default false). */
  dropRemainder?: boolean;
}

/** One batch from `batches`. The caller disposes `x`, `y` and `oneHot`. */
export interface Batch {
  /** Images `[n, H, W, C]` in [0, 1]. */
  x: Tensor4D;
  /** Integer labels `[n]` (int32). */
  y: Tensor1D;
  /** One-hot labels `[n, numClasses]` (float32), when asked for. */
  oneHot?: Tensor2D;
  /** Dataset indices of the items, in batch order. */
  indices: Int32Array;
  /** 0-based epoch. */
  epoch: number;
  /** 0-based batch number within the epoch. */
  step: number;
}

/**
 * Mini-batches over `epochs` passes of the dataset. With `shuffle` the order of epoch e
 * is the e-th successive `shuffle` of one `createRng(seed)` stream, so the same seed gives
 * the same batches. Tensors are made one batch at a time; the caller disposes each batch.
 */
export async function* batches(dataset: Dataset, options: BatchOptions): AsyncGenerator<Batch, void, undefined> {
  const { batchSize, seed = 0, shuffle = true, epochs = 1, oneHot = false, dropRemainder = false } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`batches(${dataset.name}): batchSize must be a positive integer, got ${batchSize}`);
  }
  if (!Number.isInteger(epochs) || epochs < 0) {
    throw new Error(`batches(${dataset.name}): epochs must be a non-negative integer, got ${epochs}`);
  }
  const rng = createRng(seed);
  const order = Array.from({ length: dataset.size }, (_, i) => i);
  const numClasses = dataset.classNames.length;
  for (let epoch = 0; epoch < epochs; epoch++) {
    if (shuffle) rng.shuffle(order);
    for (let start = 0, step = 0; start < order.length; start += batchSize, step++) {
      const end = Math.min(start + batchSize, order.length);
      if (dropRemainder && end - start < batchSize) break;
      const indices = Int32Array.from(order.slice(start, end));
      const labels = indices.map((i) => dataset.labels[i]!);
      const x = dataset.images(indices);
      const y = tf.tensor1d(labels, 'int32');
      const batch: Batch = { x, y, indices, epoch, step };
      if (oneHot) batch.oneHot = tf.oneHot(y, numClasses, 1, 0, 'float32') as Tensor2D;
      yield batch;
    }
  }
}
