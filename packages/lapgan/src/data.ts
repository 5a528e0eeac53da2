import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { streamRng } from './seeds.js';

/**
 * Training images read on demand: a data set too large to hold as one float tensor can
 * decode just the rows a batch needs.
 */
export interface ImageSet {
  /** Number of images. */
  readonly size: number;
  /** One class index per image (needed by conditional and per-class levels). */
  readonly labels?: ArrayLike<number>;
  /** Images [B, H, W, C] in [0, 1] for the given rows; the caller disposes them. */
  images(indices: readonly number[]): Tensor4D;
}

/** Images for training: an `ImageSet`, or all images as one tensor [N, H, W, C] in [0, 1] with labels. */
export type TrainingImages = ImageSet | { images: Tensor4D; labels?: ArrayLike<number> };

function isImageSet(data: TrainingImages): data is ImageSet {
  return typeof data.images === 'function';
}

/** Normalises `TrainingImages` to an `ImageSet` (a tensor is gathered row by row, not copied). */
export function toImageSet(data: TrainingImages): ImageSet {
  if (isImageSet(data)) return data;
  const all = data.images;
  if (all.rank !== 4) throw new Error(`training data: expected images [N, H, W, C], got shape [${all.shape.join(', ')}]`);
  if (data.labels !== undefined && data.labels.length !== all.shape[0]) {
    throw new Error(`training data: ${data.labels.length} labels for ${all.shape[0]} images`);
  }
  return {
    size: all.shape[0],
    labels: data.labels,
    images: (indices) => tf.tidy(() => tf.gather(all, tf.tensor1d([...indices], 'int32'))),
  };
}

/**
 * The rows of each training step: epoch e visits `pool` in a random order drawn from
 * (seed, e), and step s takes positions s * B .. s * B + B - 1 of the endless sequence of
 * epochs. The rows of a step depend only on (seed, step), so a resumed run sees the same
 * batches as an uninterrupted one.
 */
export class BatchOrder {
  private epoch = -1;
  private perm: number[] = [];

  constructor(
    private readonly pool: readonly number[],
    private readonly seed: number,
  ) {
    if (pool.length === 0) throw new Error('BatchOrder: no images to draw from');
  }

  indices(step: number, batchSize: number): number[] {
    const n = this.pool.length;
    const out: number[] = [];
    for (let i = 0; i < batchSize; i++) {
      const p = step * batchSize + i;
      const epoch = Math.floor(p / n);
      if (epoch !== this.epoch) {
        this.epoch = epoch;
        this.perm = streamRng(this.seed, 0xe90c, epoch).shuffle(Array.from({ length: n }, (_, j) => j));
      }
      out.push(this.pool[this.perm[p % n]!]!);
    }
    return out;
  }
}
