/**
 * The networks of one pyramid level, built as tfjs-layers functional models (so they save
 * and load in the standard tfjs format) and run by the forward functions below.
 *
 * Internal range: networks see images in [-1, 1] (x_internal = 2 x - 1) and residuals in
 * the same units (twice the [0, 1] difference). Everything outside this module speaks
 * [0, 1] images.
 *
 * Base level (fully connected):
 *   G: concat[z ~ U(-1, 1), one-hot] -> Dense ReLU (x gHidden) -> Dense H*W*C (tanh, or
 *      sigmoid mapped to [-1, 1]) -> H x W x C image.
 *   D: concat[flatten(x), one-hot] -> (Dense ReLU -> dropout) x dHidden -> Dense 1 (logit).
 * Finer levels (convolutional):
 *   class plane: one-hot -> Dense(K -> S*S) ReLU -> one S x S plane (G and D each own one).
 *   G: concat[noise plane ~ U(-1, 1), class plane, l] -> conv ReLU (x gFilters, 'same')
 *      -> conv C (linear, or tanh x residualScale) = residual h.
 *   D: concat[h + l, l, class plane] -> conv dFilters ReLU -> conv dFilters stride 2 ReLU
 *      -> dropout -> Dense 1 (logit).
 *
 * The forward functions apply the models' layers one by one rather than calling the
 * model: a finer G then runs at any size (the class plane is resized to the input, which
 * is how a level's G is applied past the training resolution), and D's dropout draws its
 * masks from a seeded `Rng` so that a training run is reproducible step for step.
 */
import type { Rng } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { resize } from './resize.js';
import type { BaseLevelSpec, LevelSpec, RefineLevelSpec } from './spec.js';

type Layer = ReturnType<LayersModel['getLayer']>;

/** G and (during training) D of one level, or of one class of a per-class level. */
export interface LevelNets {
  g: LayersModel;
  /** The discriminator; null when loaded for sampling only. */
  d: LayersModel | null;
}

/** Classes the networks themselves are fed (0 for per-class networks and unconditional levels). */
export function netClasses(spec: LevelSpec): number {
  return spec.perClass ? 0 : spec.numClasses;
}

function init(seed: () => number) {
  return { kernelInitializer: tfl.initializers.glorotUniform({ seed: seed() }), biasInitializer: 'zeros' as const };
}

function sym(x: unknown): SymbolicTensor {
  return x as SymbolicTensor;
}

/** Builds the G of a level; `seed` draws one seed per layer for reproducible initial weights. */
export function buildGenerator(spec: LevelSpec, seed: () => number): LayersModel {
  const k = netClasses(spec);
  const c = spec.channels;
  const s = spec.size;
  if (spec.kind === 'base') {
    const z = tfl.input({ shape: [spec.noiseDim], name: 'noise' });
    const inputs = [z];
    let x = z;
    if (k > 0) {
      const cls = tfl.input({ shape: [k], name: 'class' });
      inputs.push(cls);
      x = sym(tfl.layers.concatenate({ axis: -1, name: 'g_concat' }).apply([z, cls]));
    }
    spec.gHidden.forEach((units, i) => {
      x = sym(tfl.layers.dense({ units, activation: 'relu', name: `g_hidden${i + 1}`, ...init(seed) }).apply(x));
    });
    x = sym(tfl.layers.dense({ units: s * s * c, activation: spec.output, name: 'g_out', ...init(seed) }).apply(x));
    x = sym(tfl.layers.reshape({ targetShape: [s, s, c], name: 'g_image' }).apply(x));
    return tfl.model({ inputs, outputs: x, name: 'lapgan_base_g' });
  }
  const noise = tfl.input({ shape: [s, s, 1], name: 'noise' });
  const inputs = [noise];
  const parts = [noise];
  if (k > 0) {
    const cls = tfl.input({ shape: [k], name: 'class' });
    inputs.push(cls);
    parts.push(classPlane('g', s, cls, seed));
  }
  const coarse = tfl.input({ shape: [s, s, c], name: 'coarse' });
  inputs.push(coarse);
  parts.push(coarse);
  let x = sym(tfl.layers.concatenate({ axis: -1, name: 'g_concat' }).apply(parts));
  spec.gFilters.forEach((filters, i) => {
    x = sym(
      tfl.layers
        .conv2d({ filters, kernelSize: spec.gKernel, padding: 'same', activation: 'relu', name: `g_conv${i + 1}`, ...init(seed) })
        .apply(x),
    );
  });
  x = sym(
    tfl.layers
      .conv2d({
        filters: c,
        kernelSize: spec.gOutKernel,
        padding: 'same',
        activation: spec.residual === 'tanh' ? 'tanh' : 'linear',
        name: 'g_residual',
        ...init(seed),
      })
      .apply(x),
  );
  return tfl.model({ inputs, outputs: x, name: 'lapgan_refine_g' });
}

function classPlane(prefix: string, s: number, cls: SymbolicTensor, seed: () => number): SymbolicTensor {
  const dense = tfl.layers.dense({ units: s * s, activation: 'relu', name: `${prefix}_class_plane`, ...init(seed) });
  return sym(tfl.layers.reshape({ targetShape: [s, s, 1], name: `${prefix}_class_reshape` }).apply(dense.apply(cls)));
}

/** Builds the D of a level. */
export function buildDiscriminator(spec: LevelSpec, seed: () => number): LayersModel {
  const k = netClasses(spec);
  const c = spec.channels;
  const s = spec.size;
  const image = tfl.input({ shape: [s, s, c], name: 'image' });
  const inputs = [image];
  if (spec.kind === 'base') {
    let x = sym(tfl.layers.flatten({ name: 'd_flatten' }).apply(image));
    if (k > 0) {
      const cls = tfl.input({ shape: [k], name: 'class' });
      inputs.push(cls);
      x = sym(tfl.layers.concatenate({ axis: -1, name: 'd_concat' }).apply([x, cls]));
    }
    spec.dHidden.forEach((units, i) => {
      x = sym(tfl.layers.dense({ units, activation: 'relu', name: `d_hidden${i + 1}`, ...init(seed) }).apply(x));
      x = sym(tfl.layers.dropout({ rate: spec.dropout, name: `d_dropout${i + 1}` }).apply(x));
    });
    x = sym(tfl.layers.dense({ units: 1, name: 'd_logit', ...init(seed) }).apply(x));
    return tfl.model({ inputs, outputs: x, name: 'lapgan_base_d' });
  }
  const coarse = tfl.input({ shape: [s, s, c], name: 'coarse' });
  inputs.push(coarse);
  const parts = [image, coarse];
  if (k > 0) {
    const cls = tfl.input({ shape: [k], name: 'class' });
    inputs.push(cls);
    parts.push(classPlane('d', s, cls, seed));
  }
  const conv = (name: string, strides: number) =>
    tfl.layers.conv2d({
      filters: spec.dFilters,
      kernelSize: spec.dKernel,
      strides,
      padding: spec.dPadding,
      activation: 'relu',
      name,
      ...init(seed),
    });
  let x = sym(tfl.layers.concatenate({ axis: -1, name: 'd_concat' }).apply(parts));
  x = sym(conv('d_conv1', 1).apply(x));
  x = sym(conv('d_conv2', 2).apply(x));
  x = sym(tfl.layers.dropout({ rate: spec.dropout, name: 'd_dropout' }).apply(x));
  x = sym(tfl.layers.flatten({ name: 'd_flatten' }).apply(x));
  x = sym(tfl.layers.dense({ units: 1, name: 'd_logit', ...init(seed) }).apply(x));
  return tfl.model({ inputs, outputs: x, name: 'lapgan_refine_d' });
}

function layer(model: LayersModel, name: string): Layer {
  return model.getLayer(name);
}

function run(l: Layer, x: Tensor | Tensor[]): Tensor {
  return l.apply(x) as Tensor;
}

/** Inverted dropout with a mask drawn from `rng` (no op when rate is 0 or rng is null). */
function dropout(x: Tensor, rate: number, rng: Rng | null): Tensor {
  if (rng === null || rate === 0) return x;
  const keep = 1 - rate;
  const mask = rng.uniformArray(x.size);
  for (let i = 0; i < mask.length; i++) mask[i] = mask[i]! < keep ? 1 / keep : 0;
  return tf.mul(x, tf.tensor(mask, x.shape, 'float32'));
}

/** Base G: z [B, noiseDim] (and one-hot [B, K]) -> images [B, S, S, C] in [-1, 1]. */
export function generateBase(spec: BaseLevelSpec, g: LayersModel, z: Tensor2D, onehot: Tensor2D | null): Tensor4D {
  return tf.tidy(() => {
    const out = g.apply(onehot === null ? z : [z, onehot]) as Tensor4D;
    return spec.output === 'sigmoid' ? (tf.sub(tf.mul(out, 2), 1) as Tensor4D) : out;
  });
}

/**
 * Finer G: noise planes [B, H, W, 1], one-hot [B, K] (or null), l = the upsampled coarser
 * image [B, H, W, C] in [-1, 1] -> residual [B, H, W, C] in internal units. H x W may
 * differ from the level's size: the class plane is then resized to it (bilinear).
 */
export function generateResidual(
  spec: RefineLevelSpec,
  g: LayersModel,
  noise: Tensor4D,
  onehot: Tensor2D | null,
  coarse: Tensor4D,
): Tensor4D {
  return tf.tidy(() => {
    const [b, h, w] = coarse.shape;
    const parts: Tensor[] = [noise];
    if (onehot !== null) {
      const s = spec.size;
      let plane = tf.reshape(run(layer(g, 'g_class_plane'), onehot), [b, s, s, 1]) as Tensor4D;
      if (h !== s || w !== s) plane = resize(plane, [h, w]);
      parts.push(plane);
    }
    parts.push(coarse);
    let x: Tensor = tf.concat(parts, 3);
    spec.gFilters.forEach((_, i) => {
      x = run(layer(g, `g_conv${i + 1}`), x);
    });
    x = run(layer(g, 'g_residual'), x);
    return (spec.residual === 'tanh' && spec.residualScale !== 1 ? tf.mul(x, spec.residualScale) : x) as Tensor4D;
  });
}

/**
 * D: logits [B, 1] for images [B, S, S, C] in [-1, 1]; finer levels also take l
 * [B, S, S, C]. `rng` draws the dropout masks (training); null runs D without dropout.
 */
export function discriminate(
  spec: LevelSpec,
  d: LayersModel,
  image: Tensor4D,
  coarse: Tensor4D | null,
  onehot: Tensor2D | null,
  rng: Rng | null,
): Tensor2D {
  return tf.tidy(() => {
    if (spec.kind === 'base') {
      let x = run(layer(d, 'd_flatten'), image);
      if (onehot !== null) x = tf.concat([x, onehot], 1);
      spec.dHidden.forEach((_, i) => {
        x = dropout(run(layer(d, `d_hidden${i + 1}`), x), spec.dropout, rng);
      });
      return run(layer(d, 'd_logit'), x) as Tensor2D;
    }
    if (coarse === null) throw new Error('discriminate: a refine level needs the coarse image l');
    const parts: Tensor[] = [image, coarse];
    if (onehot !== null) {
      const s = spec.size;
      parts.push(tf.reshape(run(layer(d, 'd_class_plane'), onehot), [image.shape[0], s, s, 1]));
    }
    let x: Tensor = tf.concat(parts, 3);
    x = run(layer(d, 'd_conv1'), x);
    x = run(layer(d, 'd_conv2'), x);
    x = dropout(x, spec.dropout, rng);
    x = run(layer(d, 'd_flatten'), x);
    return run(layer(d, 'd_logit'), x) as Tensor2D;
  });
}

/** Trainable parameters of a model. */
export function countParams(model: LayersModel): number {
  return model.countParams();
}
