import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import type { Evaluator, EvaluatorOutputs } from './evaluator.js';
import {
  accuracy,
  frechetDistance,
  inceptionScore,
  meanPairwiseDistance,
  median,
  nearestNeighbours,
} from './metrics.js';

/** Every metric of one set of images (samples, or real images as the baseline). */
export interface SampleMetrics {
  count: number;
  /** Evaluator accuracy for the intended class. */
  accuracy: number;
  inceptionScore: number;
  /** Frechet distance in the evaluator's feature space to held-out real images. */
  frechetDistance: number;
  /** Mean over classes of the mean pairwise feature distance within the class. */
  diversity: number;
  /** diversity / the same quantity for real held-out images. */
  diversityVsReal: number;
  /** Median distance of each image to its nearest training image. */
  nearestTrainPixel: number;
  nearestTrainFeature: number;
}

export interface RealImages {
  images: Tensor4D;
  labels: ArrayLike<number>;
}

export interface EvaluateOptions {
  evaluator: Evaluator;
  /** Held-out real images: the reference for Frechet distance and diversity. */
  test: RealImages;
  /** Training images, for the nearest-neighbour (copy) check. */
  train: Tensor4D;
  batchSize?: number;
}

function pixels(images: Tensor4D): { data: Float32Array; dim: number } {
  const [, h, w, c] = images.shape;
  return { data: images.dataSync() as Float32Array, dim: h * w * c };
}

function rowsWhere(data: Float32Array, dim: number, labels: ArrayLike<number>, label: number): Float32Array {
  const idx: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] === label) idx.push(i);
  const out = new Float32Array(idx.length * dim);
  idx.forEach((row, k) => {
    out.set(data.subarray(row * dim, (row + 1) * dim), k * dim);
  });
  return out;
}

function classDiversity(out: EvaluatorOutputs, labels: ArrayLike<number>): Map<number, number> {
  const result = new Map<number, number>();
  for (const label of new Set(Array.from(labels))) {
    const rows = rowsWhere(out.features, out.featureDim, labels, label);
    if (rows.length >= 2 * out.featureDim) result.set(label, meanPairwiseDistance(rows, out.featureDim));
  }
  return result;
}

/**
 * Scores images against held-out real images and the training set. Evaluator outputs for the
 * reference sets are computed once and cached on the returned function.
 */
export function createSampleEvaluation(options: EvaluateOptions) {
  const { evaluator, test, train } = options;
  const batchSize = options.batchSize ?? 256;
  const testOut = evaluator.evaluate(test.images, batchSize);
  const trainOut = evaluator.evaluate(train, batchSize);
  const trainPixels = pixels(train);
  const realDiversity = classDiversity(testOut, test.labels);

  function score(images: Tensor4D, intended: ArrayLike<number>, out: EvaluatorOutputs, reference: EvaluatorOutputs): SampleMetrics {
    const n = images.shape[0];
    if (intended.length !== n) throw new Error(`evaluate: ${n} images but ${intended.length} intended labels`);
    const own = classDiversity(out, intended);
    let div = 0;
    let ratio = 0;
    let classes = 0;
    for (const [label, d] of own) {
      const real = realDiversity.get(label);
      if (real === undefined || real === 0) continue;
      div += d;
      ratio += d / real;
      classes++;
    }
    const px = pixels(images);
    const nnPixel = nearestNeighbours(px.data, trainPixels.data, px.dim, 1).distances.map((d) => d[0]!);
    const nnFeature = nearestNeighbours(out.features, trainOut.features, out.featureDim, 1).distances.map((d) => d[0]!);
    return {
      count: n,
      accuracy: accuracy(out.probs, out.numClasses, intended),
      inceptionScore: inceptionScore(out.probs, out.numClasses),
      frechetDistance: frechetDistance(out.features, reference.features, out.featureDim),
      diversity: classes ? div / classes : Number.NaN,
      diversityVsReal: classes ? ratio / classes : Number.NaN,
      nearestTrainPixel: median(nnPixel),
      nearestTrainFeature: median(nnFeature),
    };
  }

  return {
    /** Metrics of generated images meant to show the classes `intended`. */
    evaluate(images: Tensor4D, intended: ArrayLike<number>): SampleMetrics {
      return score(images, intended, evaluator.evaluate(images, batchSize), testOut);
    },
    /**
     * The real baseline: held-out images scored the same way; the Frechet distance is between
     * the two halves of the held-out set (the floor a perfect generator of that size reaches).
     */
    realBaseline(): SampleMetrics {
      const n = test.images.shape[0];
      const half = Math.floor(n / 2);
      const [a, b] = [0, 1].map((k) =>
        tf.tidy(() => tf.slice(test.images, [k * half, 0, 0, 0], [half, -1, -1, -1])),
      ) as [Tensor4D, Tensor4D];
      const labelsA = Array.from(test.labels).slice(0, half);
      const outA = evaluator.evaluate(a, batchSize);
      const outB = evaluator.evaluate(b, batchSize);
      const metrics = score(a, labelsA, outA, outB);
      tf.dispose([a, b]);
      return metrics;
    },
    /** Indices of each image's k nearest training images, in pixel and in feature space. */
    neighbours(images: Tensor4D, k: number): { pixel: Int32Array[]; feature: Int32Array[] } {
      const px = pixels(images);
      const out = evaluator.evaluate(images, batchSize);
      return {
        pixel: nearestNeighbours(px.data, trainPixels.data, px.dim, k).indices,
        feature: nearestNeighbours(out.features, trainOut.features, out.featureDim, k).indices,
      };
    },
  };
}

/**
 * Cells for a nearest-neighbour sheet: for each image, the image then its k nearest
 * training images, so a grid with k + 1 columns shows one sample per row.
 */
export function neighbourSheetCells(images: Tensor4D, train: Tensor4D, neighbours: Int32Array[]): Tensor4D {
  return tf.tidy(() => {
    const rows: tf.Tensor[] = [];
    neighbours.forEach((idx, i) => {
      rows.push(tf.slice(images, [i, 0, 0, 0], [1, -1, -1, -1]));
      rows.push(tf.gather(train, tf.tensor1d(Array.from(idx), 'int32')));
    });
    return tf.concat(rows, 0) as Tensor4D;
  });
}
