import { type ImageInputOptions, imageInput } from '@ppgn/condition-classifier';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor1D, Tensor4D } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { centre, checkPosition, checkUnit, layerReader, type Position, spatialSize, unitsAt } from './unit.js';

/** Options of `layerActivations`. */
export interface LayerActivationsOptions extends ImageInputOptions {
  /** Read one unit (a [N] result) instead of the whole layer. */
  unit?: number;
  /**
   * Conv layers, with `unit`: where to read the channel. A [row, col] position, `center`
   * (default; Math.floor(size / 2)), or the channel's `max` or `mean` over all positions.
   */
  position?: Position | 'center' | 'max' | 'mean';
  /** Images per forward pass. Default 32. */
  batchSize?: number;
}

const WHO = 'layerActivations';

/**
 * Reads a layer's activations on real images, e.g. to find the real images that excite a
 * unit most (`tf.topk(layerActivations(model, 'conv5', images, { unit: 12 }), 9)`).
 *
 * Returns [N, ...layer output shape] for the whole layer, or [N] for one `unit`. Runs in
 * batches of `batchSize` and frees its intermediates; the result is the caller's to dispose.
 */
export function layerActivations(
  model: LayersModel,
  layer: string,
  images: Tensor4D,
  options: LayerActivationsOptions = {},
): Tensor {
  const feed = imageInput(model, options, WHO, 'reader');
  const reader = layerReader(model, layer, WHO);
  const { geometry } = reader;
  const { unit } = options;
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`${WHO}: batchSize must be a positive integer, got ${batchSize}`);
  }
  if (unit !== undefined) checkUnit(unit, geometry, layer, WHO);
  if (options.position !== undefined) {
    if (unit === undefined) throw new Error(`${WHO}: position needs a unit`);
    if (geometry.kind === 'dense') {
      throw new Error(`${WHO}: layer '${layer}' is a dense layer with no spatial positions; leave position unset`);
    }
    const [h, w] = geometry.spatial!;
    if (Array.isArray(options.position) && h !== null && w !== null) checkPosition(options.position, h, w, layer, WHO);
  }

  function read(batch: Tensor4D): Tensor {
    const activations = reader.model.apply(feed.prepare(batch), { training: false }) as Tensor;
    if (unit === undefined) return activations;
    if (geometry.kind === 'dense') return tf.reshape(tf.slice(activations, [0, unit], [-1, 1]), [-1]);
    const where = options.position ?? 'center';
    if (where === 'max' || where === 'mean') {
      const channel = geometry.channelsFirst
        ? tf.slice(activations, [0, unit, 0, 0], [-1, 1, -1, -1])
        : tf.slice(activations, [0, 0, 0, unit], [-1, -1, -1, 1]);
      const flat = tf.reshape(channel, [activations.shape[0]!, -1]);
      return where === 'max' ? tf.max(flat, 1) : tf.mean(flat, 1);
    }
    const [h, w] = spatialSize(activations, geometry);
    const position = where === 'center' ? centre(h, w) : where;
    checkPosition(position, h, w, layer, WHO);
    return tf.reshape(tf.slice(unitsAt(activations, geometry, position), [0, unit], [-1, 1]), [-1]) as Tensor1D;
  }

  const n = images.shape[0];
  if (n <= batchSize) return tf.tidy(() => read(images));
  const parts: Tensor[] = [];
  try {
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start);
      parts.push(tf.tidy(() => read(tf.slice(images, [start, 0, 0, 0], [size, -1, -1, -1]))));
    }
    return tf.concat(parts, 0);
  } finally {
    tf.dispose(parts);
  }
}
