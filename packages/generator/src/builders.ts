import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import type { ImageShape } from '@ppgn/core';

/** Image sides `buildGenerator` and `buildDiscriminator` accept. */
export const GENERATOR_IMAGE_SIZES = [28, 32, 64, 128, 256] as const;

/** Arguments of `buildGenerator`. */
export interface GeneratorArgs {
  /** Length of the latent code h (G's input is [batch, latentSize]). */
  latentSize: number;
  /** [height, width, channels] of the output: square, side in `GENERATOR_IMAGE_SIZES`, 1 or 3 channels. */
  imageShape: ImageShape;
  /**
   * Widths of the fully connected layers between h and the first feature map (each with
   * LeakyReLU). Default `[]`: h goes through one dense layer straight to the first map. The
   * paper's 256x256 G uses `[4096, 4096]`.
   */
  fcUnits?: number[];
  /**
   * Channels of the first feature map (4x4, or 7x7 for side 28); each upsampling stage
   * halves them, down to `minChannels`. Default 256.
   */
  baseChannels?: number;
  /** Floor for the halving channel count. Default `min(32, baseChannels)`. */
  minChannels?: number;
  /** A k3 s1 convolution after every k4 s2 up-convolution, as in the paper. Default true. */
  interleave?: boolean;
  /** Batch normalisation after every hidden convolution and dense layer. Default false. */
  batchNorm?: boolean;
  /** Negative slope of the LeakyReLUs. Default 0.3 (the paper's). */
  leakyAlpha?: number;
  /**
   * How the last convolution's output becomes an image in [0, 1]. Only `'sigmoid'` is
   * offered: the paper's linear output followed by a clip has zero gradient outside [0, 1].
   */
  output?: 'sigmoid';
  /** Seed for the weight initialisers: the same seed gives the same weights on every backend. */
  seed?: number;
  /** Model name. Default `dgn_generator`. */
  name?: string;
}

/** Arguments of `buildDiscriminator`. */
export interface DiscriminatorArgs {
  /** Image shape D scores: square, side in `GENERATOR_IMAGE_SIZES`, 1 or 3 channels. */
  imageShape: ImageShape;
  /**
   * Channels of the k4 s2 convolutions, one per halving of the image side. Default: 32, 64,
   * 128, ... doubling, down to a 4x4 (or 7x7) map.
   */
  channels?: number[];
  /** Widths of hidden dense layers before the logit. Default `[]`. */
  fcUnits?: number[];
  /** Negative slope of the LeakyReLUs. Default 0.2. */
  leakyAlpha?: number;
  /** Seed for the weight initialisers. */
  seed?: number;
  /** Model name. Default `dgn_discriminator`. */
  name?: string;
}

/** Number of x2 upsamplings from the first map to `side`, and the first map's side. */
export function generatorStages(side: number, who = 'buildGenerator'): { start: number; stages: number } {
  if (!(GENERATOR_IMAGE_SIZES as readonly number[]).includes(side)) {
    throw new Error(`${who}: image side ${side} is not supported; allowed sides are ${GENERATOR_IMAGE_SIZES.join(', ')}`);
  }
  const start = side === 28 ? 7 : 4;
  return { start, stages: Math.round(Math.log2(side / start)) };
}

function checkImageShape(shape: ImageShape, who: string): void {
  if (!Array.isArray(shape) || shape.length !== 3) {
    throw new Error(`${who}: imageShape must be [height, width, channels], got ${JSON.stringify(shape)}`);
  }
  const [h, w, c] = shape;
  if (h !== w) throw new Error(`${who}: images must be square, got ${h}x${w}`);
  if (c !== 1 && c !== 3) throw new Error(`${who}: images must have 1 or 3 channels, got ${c}`);
  generatorStages(h, who);
}

function checkPositiveInt(value: number, what: string, who: string): void {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${who}: ${what} must be a positive integer, got ${value}`);
}

/** Seeded initialiser factory: one stream per layer, derived from `seed`. */
function initializers(seed: number | undefined): () => { kernelInitializer?: ReturnType<typeof tfl.initializers.glorotUniform> } {
  let layer = 0;
  return () => {
    if (seed === undefined) return {};
    layer += 1;
    return { kernelInitializer: tfl.initializers.glorotUniform({ seed: seed * 1009 + layer }) };
  };
}

/**
 * Builds a DGN-style generator G(h) as a tfjs LayersModel: dense layers (`fcUnits`) ->
 * dense to a 4x4 map (7x7 for 28x28 images) -> for each x2 stage a k4 s2 up-convolution
 * and (with `interleave`) a k3 s1 convolution, LeakyReLU(0.3) after each, channels halving
 * from `baseChannels` -> a k3 s1 convolution to the image channels -> sigmoid, so images
 * are in [0, 1]. Throws naming the allowed sizes for an unsupported image side.
 */
export function buildGenerator(args: GeneratorArgs): LayersModel {
  const who = 'buildGenerator';
  checkPositiveInt(args.latentSize, 'latentSize', who);
  checkImageShape(args.imageShape, who);
  const [side, , channelsOut] = args.imageShape;
  const { start, stages } = generatorStages(side, who);
  const base = args.baseChannels ?? 256;
  checkPositiveInt(base, 'baseChannels', who);
  const floor = args.minChannels ?? Math.min(32, base);
  checkPositiveInt(floor, 'minChannels', who);
  const fcUnits = args.fcUnits ?? [];
  fcUnits.forEach((u, i) => {
    checkPositiveInt(u, `fcUnits[${i}]`, who);
  });
  if (args.output !== undefined && args.output !== 'sigmoid') {
    throw new Error(`${who}: output must be 'sigmoid', got '${String(args.output)}'`);
  }
  const alpha = args.leakyAlpha ?? 0.3;
  const interleave = args.interleave ?? true;
  const init = initializers(args.seed);
  const name = args.name ?? 'dgn_generator';

  const act = (x: SymbolicTensor): SymbolicTensor => {
    const y = args.batchNorm ? (tfl.layers.batchNormalization().apply(x) as SymbolicTensor) : x;
    return tfl.layers.leakyReLU({ alpha }).apply(y) as SymbolicTensor;
  };
  const input = tfl.input({ shape: [args.latentSize], name: `${name}_h` });
  let x: SymbolicTensor = input;
  for (const units of fcUnits) x = act(tfl.layers.dense({ units, ...init() }).apply(x) as SymbolicTensor);
  x = act(tfl.layers.dense({ units: start * start * base, ...init() }).apply(x) as SymbolicTensor);
  x = tfl.layers.reshape({ targetShape: [start, start, base] }).apply(x) as SymbolicTensor;
  for (let i = 1; i <= stages; i++) {
    const filters = Math.max(floor, Math.floor(base / 2 ** i));
    x = act(
      tfl.layers
        .conv2dTranspose({ filters, kernelSize: 4, strides: 2, padding: 'same', ...init() })
        .apply(x) as SymbolicTensor,
    );
    if (interleave) {
      x = act(tfl.layers.conv2d({ filters, kernelSize: 3, padding: 'same', ...init() }).apply(x) as SymbolicTensor);
    }
  }
  const out = tfl.layers
    .conv2d({ filters: channelsOut, kernelSize: 3, padding: 'same', activation: 'sigmoid', ...init() })
    .apply(x) as SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name });
}

/**
 * Builds an image discriminator D(x) as a tfjs LayersModel: k4 s2 convolutions with
 * LeakyReLU(0.2) down to a 4x4 (or 7x7) map, optional dense layers, one logit per image
 * (output [batch, 1], no sigmoid: losses use the logit directly).
 */
export function buildDiscriminator(args: DiscriminatorArgs): LayersModel {
  const who = 'buildDiscriminator';
  checkImageShape(args.imageShape, who);
  const { stages } = generatorStages(args.imageShape[0], who);
  const channels = args.channels ?? Array.from({ length: stages }, (_, i) => Math.min(512, 32 * 2 ** i));
  channels.forEach((c, i) => {
    checkPositiveInt(c, `channels[${i}]`, who);
  });
  if (channels.length > stages) {
    throw new Error(
      `${who}: ${channels.length} stride-2 convolutions would shrink a ${args.imageShape[0]}-pixel image below ` +
        `${args.imageShape[0] / 2 ** stages} pixels; give at most ${stages} channel counts`,
    );
  }
  const fcUnits = args.fcUnits ?? [];
  fcUnits.forEach((u, i) => {
    checkPositiveInt(u, `fcUnits[${i}]`, who);
  });
  const alpha = args.leakyAlpha ?? 0.2;
  const init = initializers(args.seed);
  const name = args.name ?? 'dgn_discriminator';

  const input = tfl.input({ shape: [...args.imageShape], name: `${name}_x` });
  let x: SymbolicTensor = input;
  for (const filters of channels) {
    x = tfl.layers.conv2d({ filters, kernelSize: 4, strides: 2, padding: 'same', ...init() }).apply(x) as SymbolicTensor;
    x = tfl.layers.leakyReLU({ alpha }).apply(x) as SymbolicTensor;
  }
  x = tfl.layers.flatten().apply(x) as SymbolicTensor;
  for (const units of fcUnits) {
    x = tfl.layers.dense({ units, ...init() }).apply(x) as SymbolicTensor;
    x = tfl.layers.leakyReLU({ alpha }).apply(x) as SymbolicTensor;
  }
  const logit = tfl.layers.dense({ units: 1, ...init() }).apply(x) as SymbolicTensor;
  return tfl.model({ inputs: input, outputs: logit, name });
}
