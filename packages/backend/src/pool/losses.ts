import * as tf from '@tensorflow/tfjs';
import { pathToFileURL } from 'node:url';
import type { LossName, LossSpec, ModuleExport, WireLoss } from './protocol.js';

/**
 * A loss over a batch: per-example losses (shape `[batch]` or `[batch, ...]`) or their mean.
 * The trainer takes the mean, so a shard's loss weighted by its size sums to the batch loss;
 * a loss that sums over the batch instead of averaging would be scaled by the shard count.
 */
export type LossFunction = (yTrue: tf.Tensor, yPred: tf.Tensor, tfjs: typeof tf) => tf.Tensor;

const EPSILON = 1e-7;

/** Keras semantics, as `model.compile({ loss: name })` computes them, per example. */
const BUILTIN: Record<LossName, LossFunction> = {
  categoricalCrossentropy: (yTrue, yPred) => tf.metrics.categoricalCrossentropy(yTrue, yPred),
  binaryCrossentropy: (yTrue, yPred) => tf.metrics.binaryCrossentropy(yTrue, yPred),
  meanSquaredError: (yTrue, yPred) => tf.metrics.meanSquaredError(yTrue, yPred),
  sparseCategoricalCrossentropy: (yTrue, yPred) =>
    tf.tidy(() => {
      const classes = yPred.shape[yPred.shape.length - 1] ?? 1;
      const flat = tf.reshape(yTrue, [-1]);
      const labels = flat.dtype === 'int32' ? flat : tf.cast(tf.floor(flat), 'int32');
      const oneHot = tf.reshape(tf.oneHot(labels, classes), yPred.shape);
      return tf.metrics.categoricalCrossentropy(oneHot, tf.clipByValue(yPred, EPSILON, 1 - EPSILON));
    }),
};

export const LOSS_NAMES = Object.keys(BUILTIN) as LossName[];

/** A module reference as a URL string that any thread can `import()`. */
export function moduleHref(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)) return module;
  if (module.startsWith('/') || /^[a-z]:[\\/]/i.test(module)) return pathToFileURL(module).href;
  throw new Error(`module '${module}' must be a file URL or an absolute path`);
}

export function toWireLoss(spec: LossSpec): WireLoss {
  if (typeof spec === 'string') {
    if (!LOSS_NAMES.includes(spec)) {
      throw new Error(`unknown loss '${spec}', expected one of ${LOSS_NAMES.join(', ')} or { module, export }`);
    }
    return spec;
  }
  return { module: moduleHref(spec.module), export: spec.export };
}

/** Imports `module` and returns its export `name`, which must be a function. */
export async function importExport<F>(ref: ModuleExport): Promise<F> {
  const href = moduleHref(ref.module);
  const mod = (await import(href)) as Record<string, unknown>;
  const fn = mod[ref.export];
  if (typeof fn !== 'function') {
    throw new Error(`module ${href} has no exported function '${ref.export}'`);
  }
  return fn as F;
}

/**
 * The loss a trainer uses, as a function returning the scalar mean loss over a batch plus the
 * model's regularisation penalties. Use it for a single-thread reference step.
 */
export async function resolveLoss(spec: LossSpec | WireLoss): Promise<LossFunction> {
  const wire = toWireLoss(spec as LossSpec);
  if (typeof wire === 'string') return BUILTIN[wire];
  return importExport<LossFunction>(wire);
}

/** Mean loss of `model` on a batch in training mode, with its regulariser penalties added. */
export function batchLoss(model: tf.LayersModel, loss: LossFunction, xs: tf.Tensor, ys: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const yPred = model.apply(xs, { training: true }) as tf.Tensor;
    let total = tf.mean(loss(ys, yPred, tf)) as tf.Scalar;
    for (const penalty of model.calculateLosses()) total = tf.add(total, penalty);
    return total;
  });
}
