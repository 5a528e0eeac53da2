import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { assertImageBatch, type ImageShape, type Prior, shapeToString } from '@ppgn/core';
import type { TrainingData, TrainingResult } from '@ppgn/core';
import { type DenoiserTrainingOptions, trainDenoiser } from './train-denoiser.js';

/** Arguments of `buildXDae`. */
export interface XDaeArgs {
  /** [height, width, channels] of the images it denoises; height and width divisible by 2^channels.length. */
  imageShape: ImageShape;
  /** Channels of the k3 s2 encoder convolutions (the decoder mirrors them). Default [32, 64]. */
  channels?: number[];
  /** Negative slope of the LeakyReLUs. Default 0.2. */
  leakyAlpha?: number;
  /** Seed for the weight initialisers. */
  seed?: number;
  /** Model name. Default `x_dae`. */
  name?: string;
}

/**
 * Builds a convolutional denoising autoencoder on images (PPGN-x's prior): k3 s2
 * convolutions down, k4 s2 up-convolutions back, LeakyReLU between, sigmoid output so
 * R(x) is an image in [0, 1].
 */
export function buildXDae(args: XDaeArgs): LayersModel {
  const who = 'buildXDae';
  const [h, w, c] = args.imageShape;
  const channels = args.channels ?? [32, 64];
  if (channels.length === 0) throw new Error(`${who}: channels must name at least one convolution`);
  channels.forEach((ch, i) => {
    if (!Number.isInteger(ch) || ch <= 0) throw new Error(`${who}: channels[${i}] must be a positive integer, got ${ch}`);
  });
  const f = 2 ** channels.length;
  if (![h, w, c].every((d) => Number.isInteger(d) && d > 0) || h % f !== 0 || w % f !== 0) {
    throw new Error(
      `${who}: ${shapeToString(args.imageShape)} images cannot go through ${channels.length} stride-2 convolutions: ` +
        `height and width must be multiples of ${f}`,
    );
  }
  const alpha = args.leakyAlpha ?? 0.2;
  const name = args.name ?? 'x_dae';
  let layer = 0;
  const init = () =>
    args.seed === undefined ? {} : { kernelInitializer: tfl.initializers.glorotUniform({ seed: args.seed * 1009 + ++layer }) };
  const input = tfl.input({ shape: [h, w, c], name: `${name}_x` });
  let x: SymbolicTensor = input;
  for (const filters of channels) {
    x = tfl.layers.conv2d({ filters, kernelSize: 3, strides: 2, padding: 'same', ...init() }).apply(x) as SymbolicTensor;
    x = tfl.layers.leakyReLU({ alpha }).apply(x) as SymbolicTensor;
  }
  for (const filters of channels.slice(0, -1).reverse()) {
    x = tfl.layers.conv2dTranspose({ filters, kernelSize: 4, strides: 2, padding: 'same', ...init() }).apply(x) as SymbolicTensor;
    x = tfl.layers.leakyReLU({ alpha }).apply(x) as SymbolicTensor;
  }
  const out = tfl.layers
    .conv2dTranspose({ filters: c, kernelSize: 4, strides: 2, padding: 'same', activation: 'sigmoid', ...init() })
    .apply(x) as SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name });
}

/** Image shape of a DAE on images, checking it maps [batch, H, W, C] to the same shape. */
function imageDaeShape(dae: LayersModel, who: string): ImageShape {
  const inShape = dae.inputs[0]?.shape ?? [];
  const outShape = dae.outputs[0]?.shape ?? [];
  const img = inShape.slice(1);
  if (
    dae.inputs.length !== 1 ||
    dae.outputs.length !== 1 ||
    inShape.length !== 4 ||
    !img.every((d) => typeof d === 'number') ||
    outShape.length !== 4 ||
    outShape.slice(1).some((d, i) => d !== img[i])
  ) {
    const fmt = (s: (number | null)[]) => `[${s.map((d) => d ?? 'batch').join(', ')}]`;
    throw new Error(`${who}: the DAE must map images [batch, H, W, C] to the same shape, it maps ${fmt(inShape)} to ${fmt(outShape)}`);
  }
  return img as ImageShape;
}

/** Options of `trainXDae`. */
export interface TrainXDaeOptions extends DenoiserTrainingOptions {
  /** The DAE to train (from `buildXDae`). */
  dae: LayersModel;
  /** Clean images [B, H, W, C] in [0, 1] (see `TrainingData`). */
  images: TrainingData<Tensor4D>;
}

/**
 * Trains a DAE on pixels: R(x + sigma * n) ~ x (the noisy input is not clipped, so the
 * score estimate (R(x) - x) / sigma^2 holds). Resumes from `checkpointDir`; throws
 * `NonFiniteLossError` on a NaN loss.
 */
export async function trainXDae(options: TrainXDaeOptions): Promise<TrainingResult> {
  const who = 'trainXDae';
  const shape = imageDaeShape(options.dae, who);
  return trainDenoiser(who, options.dae, options.images, (b) => assertImageBatch(b, shape, `${who}: image batch`), options);
}

/** Options of `pixelDaePrior`. */
export interface PixelDaePriorOptions {
  /** R: a DAE on images (from `buildXDae` / `trainXDae`). The prior owns it: `dispose()` disposes it. */
  dae: LayersModel;
  /** The corruption std the DAE was trained with. */
  sigma: number;
  /** Default `pixel-dae-prior(sigma=...)`. */
  id?: string;
}

/**
 * PPGN-x's prior: a DAE on pixels, d log p(x)/dx ~ (R(x) - x) / sigma^2 at x = G(h).
 * Space 'x': the sampler pulls the direction back into h through G.
 */
export function pixelDaePrior(options: PixelDaePriorOptions): Prior {
  const who = 'pixelDaePrior';
  const { dae, sigma } = options;
  if (!(Number.isFinite(sigma) && sigma > 0)) throw new Error(`${who}: sigma must be a positive number, got ${sigma}`);
  const shape = imageDaeShape(dae, who);
  const inv = 1 / (sigma * sigma);
  let disposed = false;
  return {
    id: options.id ?? `pixel-dae-prior(sigma=${sigma})`,
    space: 'x',
    gradLogProb(_h: Tensor, x: Tensor4D): Tensor {
      if (x === undefined) throw new Error(`${who}: needs the images x = G(h)`);
      const got = x.shape.slice(1);
      if (x.rank !== 4 || got.some((d, i) => d !== shape[i])) {
        throw new Error(`${who}: DAE maps ${shapeToString(shape)} images but x is ${shapeToString(got)}`);
      }
      return tf.tidy(() => tf.mul(tf.sub(dae.apply(x, { training: false }) as Tensor, x), inv));
    },
    describe: () => `pixel DAE prior on ${shapeToString(shape)} images: (R(x) - x) / ${sigma}^2 (${dae.countParams()} parameters)`,
    dispose() {
      if (disposed) return;
      disposed = true;
      dae.dispose();
    },
  };
}
