import type { Dataset } from '@ppgn/data';
import { Adam, type AdamOptions, minimizeStep, runTraining, type TrainingResult, type TrainingRunOptions } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Rng } from '@ppgn/core';

/** Options of `trainClassifier`. */
export interface TrainClassifierOptions extends TrainingRunOptions {
  /** A model that outputs logits [batch, numClasses]. */
  model: LayersModel;
  train: Dataset;
  batchSize?: number;
  optimizer?: AdamOptions;
  /** Random shifts of up to this many pixels (zero-padded), a cheap augmentation. Default 0. */
  maxShift?: number;
}

/** Shifts every image by its own random offset in [-maxShift, maxShift]^2 (zero fill). */
export function randomShift(x: Tensor4D, maxShift: number, rng: Rng): Tensor4D {
  if (maxShift <= 0) return tf.clone(x);
  return tf.tidy(() => {
    const [n, h, w] = x.shape;
    const padded = tf.pad(x, [
      [0, 0],
      [maxShift, maxShift],
      [maxShift, maxShift],
      [0, 0],
    ]);
    const parts: tf.Tensor[] = [];
    for (let i = 0; i < n; i++) {
      const dy = rng.int(2 * maxShift + 1);
      const dx = rng.int(2 * maxShift + 1);
      parts.push(tf.slice(padded, [i, dy, dx, 0], [1, h, w, -1]));
    }
    return tf.concat(parts, 0) as Tensor4D;
  });
}

/**
 * Trains a classifier with softmax cross-entropy and Adam; each step draws its batch from
 * its own seeded stream, so a run resumed from a checkpoint equals an uninterrupted one.
 */
export async function trainClassifier(options: TrainClassifierOptions): Promise<TrainingResult> {
  const { model, train } = options;
  const batchSize = options.batchSize ?? 64;
  const maxShift = options.maxShift ?? 0;
  const numClasses = train.classNames.length;
  const adam = new Adam(model, { learningRate: 1e-3, ...options.optimizer });
  return runTraining({
    ...options,
    who: 'trainClassifier',
    models: { classifier: model },
    optimizers: { classifier: adam },
    state: {},
    fingerprint: { data: train.name, size: train.size, batchSize, maxShift, optimizer: options.optimizer ?? {} },
    async step(_step, rng, state) {
      const idx = Array.from({ length: batchSize }, () => rng.int(train.size));
      const labels = tf.tensor1d(idx.map((i) => train.labels[i]!), 'int32');
      const raw = train.images(idx);
      const x = randomShift(raw, maxShift, rng);
      const oneHot = tf.oneHot(labels, numClasses);
      try {
        const loss = minimizeStep(
          adam,
          () => tf.losses.softmaxCrossEntropy(oneHot, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
          'trainClassifier',
          _step,
        );
        return { losses: { loss }, state };
      } finally {
        tf.dispose([labels, raw, x, oneHot]);
      }
    },
  });
}

/** Accuracy of a logits model on a dataset, in batches. */
export function classifierAccuracy(model: LayersModel, data: Dataset, batchSize = 500): number {
  let correct = 0;
  for (let start = 0; start < data.size; start += batchSize) {
    const end = Math.min(data.size, start + batchSize);
    const pred = tf.tidy(() => {
      const x = data.images({ start, end });
      return tf.argMax(model.predict(x) as tf.Tensor, -1).dataSync();
    });
    for (let i = start; i < end; i++) if (pred[i - start] === data.labels[i]) correct++;
  }
  return correct / data.size;
}
