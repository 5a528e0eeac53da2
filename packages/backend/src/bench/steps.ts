/** The two measured steps, and timing helpers. */
import * as tf from '@tensorflow/tfjs';
import { withLazyLayerGradients } from '@ppgn/core';
import { batchLoss, resolveLoss } from '../pool/losses.js';
import { benchClassifier, benchGenerator, CLASSES, CODE_SIZE, IMAGE_SHAPE, ZOO_CODE_SIZE, zooClassifier, zooGenerator } from './models.js';

export const TRAIN_BATCH = 64;
export const SAMPLER_BATCH = 16;
/** The class whose logit the sampler step climbs. */
export const SAMPLER_CLASS = 3;

/** A classifier training batch: random images and one-hot labels (fixed seed). */
export function trainingBatch(batch: number): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  return tf.tidy(() => ({
    xs: tf.randomUniform([batch, ...IMAGE_SHAPE], 0, 1, 'float32', 11) as tf.Tensor4D,
    ys: tf.oneHot(tf.randomUniform([batch], 0, CLASSES, 'int32', 12) as tf.Tensor1D, CLASSES).toFloat() as tf.Tensor2D,
  }));
}

/** One Adam step of the classifier on a batch, cross-entropy on softmax outputs; returns the loss. */
export async function trainingStepper(batch: number): Promise<{ step: () => number; dispose: () => void }> {
  const { probabilities } = benchClassifier();
  const loss = await resolveLoss('categoricalCrossentropy');
  const optimizer = tf.train.adam(1e-3);
  const { xs, ys } = trainingBatch(batch);
  return {
    step: () => {
      const cost = optimizer.minimize(() => batchLoss(probabilities, loss, xs, ys), true) as tf.Scalar;
      const value = cost.dataSync()[0]!;
      cost.dispose();
      return value;
    },
    dispose: () => {
      tf.dispose([xs, ys]);
      optimizer.dispose();
      probabilities.dispose();
    },
  };
}

/** The G, C pairs a sampler step can run: the small reference pair, or copies of the zoo's shapes models. */
export type SamplerModels = 'reference' | 'zoo';

function samplerPair(models: SamplerModels): { generator: tf.LayersModel; classifier: tf.LayersModel; codeSize: number } {
  if (models === 'zoo') return { generator: zooGenerator(), classifier: zooClassifier(), codeSize: ZOO_CODE_SIZE };
  return { generator: benchGenerator(), classifier: benchClassifier().logits, codeSize: CODE_SIZE };
}

/**
 * The sampler-shaped step: x = G(h), the gradient of C(x)'s logit for one class with respect
 * to h, and h moved along it (a chain of `batch` codes); returns the mean gradient norm.
 */
export function samplerStepper(batch: number, seed = 5, models: SamplerModels = 'reference'): { step: () => number; dispose: () => void } {
  const { generator, classifier: logits, codeSize } = samplerPair(models);
  let h = tf.randomNormal([batch, codeSize], 0, 1, 'float32', seed) as tf.Tensor2D;
  const climb = tf.grad((code: tf.Tensor) => {
    const x = generator.apply(code, { training: false }) as tf.Tensor;
    const y = logits.apply(x, { training: false }) as tf.Tensor;
    return tf.sum(tf.slice(y, [0, SAMPLER_CLASS], [-1, 1]));
  });
  return {
    step: () => {
      // as the library's sampler takes it: no weight gradients computed
      const [next, norm] = withLazyLayerGradients(() =>
        tf.tidy(() => {
          const g = climb(h);
          return [tf.add(h, tf.mul(g, 0.01)), tf.div(tf.norm(g), batch)] as const;
        }),
      );
      h.dispose();
      h = next as tf.Tensor2D;
      const value = norm.dataSync()[0]!;
      norm.dispose();
      return value;
    },
    dispose: () => {
      h.dispose();
      generator.dispose();
      logits.dispose();
    },
  };
}

export interface Timing {
  /** Median wall time of one step, ms. */
  ms: number;
  runs: number;
  warmup: number;
  /** All timed runs, ms. */
  samples: number[];
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `step` `warmup` times untimed, then `runs` times timed; the median of the timed runs. */
export async function time(step: () => unknown, warmup: number, runs: number): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await step();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await step();
    samples.push(performance.now() - t0);
  }
  return { ms: median(samples), runs, warmup, samples };
}
