import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Rng } from '@ppgn/core';
import {
  Adam,
  type AdamOptions,
  batchReader,
  minimizeStep,
  runTraining,
  type TrainingData,
  type TrainingResult,
  type TrainingRunOptions,
} from '@ppgn/core';

/** Options shared by `trainHDae` and `trainXDae`. */
export interface DenoiserTrainingOptions extends TrainingRunOptions {
  /** Std of the Gaussian corruption; use the same sigma in the prior. */
  sigma: number;
  /** Batch size when the data is a whole set (also passed to a data function). Default 64. */
  batchSize?: number;
  /** Adam settings. Default learning rate 1e-3, beta1 0.9, beta2 0.999. */
  optimizer?: AdamOptions;
}

/**
 * Trains `model` as a denoising autoencoder: loss = mean((R(c + sigma * n) - c)^2) with n
 * ~ N(0, 1) drawn from the step's seeded stream, on clean batches c from `data`. Shared by
 * `trainHDae` and `trainXDae`; `check` validates each batch.
 */
export async function trainDenoiser(
  who: string,
  model: LayersModel,
  data: TrainingData,
  check: (batch: Tensor) => void,
  options: DenoiserTrainingOptions,
): Promise<TrainingResult> {
  const sigma = options.sigma;
  if (!(Number.isFinite(sigma) && sigma > 0)) throw new Error(`${who}: sigma must be a positive number, got ${sigma}`);
  const batchSize = options.batchSize ?? 64;
  const reader = batchReader(data, batchSize, who, check);
  const opt = new Adam(model, { learningRate: 1e-3, ...options.optimizer });
  try {
    const { state: _state, ...result } = await runTraining({
      ...options,
      who,
      models: { dae: model },
      optimizers: { dae: opt },
      state: null,
      fingerprint: {
        sigma,
        batchSize,
        optimizer: { learningRate: opt.learningRate, beta1: opt.beta1, beta2: opt.beta2 },
        dae: model.weights.map((w) => w.shape),
      },
      onResume: (step) => reader.skip(step),
      step: async (step, rng) => {
        const batch = await reader.next(step, rng);
        try {
          const clean = batch.tensor;
          const noisy = tf.tidy(() => tf.add(clean, rng.normalTensor(clean.shape, 0, sigma)));
          try {
            const losses = minimizeStep(
              {
                optimizer: opt,
                loss: () => tf.mean(tf.squaredDifference(model.apply(noisy, { training: true }) as Tensor, clean)) as Scalar,
                gradNorm: 'gradNorm',
              },
              who,
              step,
            );
            return { losses, state: null };
          } finally {
            noisy.dispose();
          }
        } finally {
          if (batch.owned) batch.tensor.dispose();
        }
      },
    });
    return result;
  } finally {
    opt.dispose();
  }
}

/**
 * Mean squared error of `model`'s reconstruction of `clean` from `clean + sigma * n`, n
 * drawn from `rng` (pass a fresh `new Rng(seed)` to compare a DAE before and after training).
 */
export function denoisingError(model: LayersModel, clean: Tensor, sigma: number, rng: Rng): number {
  return tf.tidy(() => {
    const noisy = tf.add(clean, rng.normalTensor(clean.shape, 0, sigma));
    return tf.mean(tf.squaredDifference(model.apply(noisy) as Tensor, clean)).dataSync()[0]!;
  });
}
