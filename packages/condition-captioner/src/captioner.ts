import { type ImageShape, type Part, Rng, assertImageBatch } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor1D, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { type Vocabulary, createVocabulary } from './vocabulary.js';

/** The architecture of a captioner (saved in `captioner.json`). */
export interface CaptionerConfig {
  imageShape: ImageShape;
  /** Output channels of the encoder's 3x3 'same'-padded ReLU convolutions, in order. */
  channels: number[];
  /** Stride of each convolution. */
  strides: number[];
  /** Size of the image feature vector (the encoder's last dense layer, ReLU). */
  features: number;
  /** Word embedding size. */
  embed: number;
  /** LSTM units. */
  hidden: number;
  /** Most words in a caption (without `<bos>`/`<eos>`); the decoder runs maxLength + 1 steps. */
  maxLength: number;
  /** Seed of the initial weights. */
  seed: number;
}

/** Arguments of `buildCaptioner`. */
export interface CaptionerArgs {
  /** The vocabulary, or its words (see `createVocabulary`); sets the output size. */
  vocabulary: Vocabulary | readonly string[];
  /** Default [32, 32, 3]. */
  imageShape?: ImageShape;
  /** Encoder convolution channels (3x3, ReLU). Default [32, 64, 128]. */
  channels?: number[];
  /** Stride of each convolution. Default 2 for every one. */
  strides?: number[];
  /** Image feature size. Default 128. */
  features?: number;
  /** Word embedding size. Default 32. */
  embed?: number;
  /** LSTM units. Default 128. */
  hidden?: number;
  /** Most words in a caption. */
  maxLength: number;
  /** Seed of the initial weights. Default 0. */
  seed?: number;
}

/**
 * An LRCN-style image captioner: a CNN encoder turns an image into a feature vector f, and
 * an LSTM language model reads `<bos> w1 .. wn` and predicts `w1 .. wn <eos>`. The image
 * enters the language model twice: f sets the LSTM's initial state (h0 = tanh(A f),
 * c0 = tanh(B f)) and is concatenated to every step's word embedding. The decoder always
 * runs `maxLength + 1` steps; inputs after a caption's end are `<pad>` and, the LSTM being
 * causal, change nothing before them.
 *
 * Two LayersModels:
 * - `encoder`: images [B, H, W, C] in [0, 1] -> features [B, F];
 * - `decoder`: [features [B, F], token ids [B, T] (int32)] -> logits [B, T, V].
 * Everything is differentiable with respect to the image.
 */
export class Captioner implements Part {
  readonly id = 'captioner';

  constructor(
    readonly encoder: LayersModel,
    readonly decoder: LayersModel,
    readonly vocabulary: Vocabulary,
    readonly config: CaptionerConfig,
  ) {
    const out = decoder.outputs[0]!.shape;
    if (out[2] !== vocabulary.size) {
      throw new Error(`Captioner: the decoder predicts ${out[2]} tokens but the vocabulary has ${vocabulary.size}`);
    }
    const steps = decoder.inputs[1]?.shape[1];
    if (steps !== config.maxLength + 1) {
      throw new Error(`Captioner: the decoder runs ${steps} steps but maxLength + 1 is ${config.maxLength + 1}`);
    }
  }

  get imageShape(): ImageShape {
    return this.config.imageShape;
  }

  get maxLength(): number {
    return this.config.maxLength;
  }

  /** Decoder steps: maxLength + 1. */
  get steps(): number {
    return this.config.maxLength + 1;
  }

  /** Image features [B, F]. */
  features(images: Tensor4D, training = false): Tensor2D {
    assertImageBatch(images, this.imageShape, 'Captioner.features');
    return this.encoder.apply(images, { training }) as Tensor2D;
  }

  /** Next-token logits [B, T, V] for token ids [B, T] (int32) given features [B, F]. */
  logits(features: Tensor2D, tokens: Tensor2D, training = false): Tensor3D {
    return this.decoder.apply([features, tokens], { training }) as Tensor3D;
  }

  /** Number of weights of both models. */
  countParams(): number {
    return this.encoder.countParams() + this.decoder.countParams();
  }

  describe(): string {
    const c = this.config;
    return (
      `captioner: CNN [${c.channels.map((ch, i) => (c.strides[i] === 1 ? ch : `${ch}/${c.strides[i]}`)).join(', ')}] -> ${c.features} features -> LSTM ${c.hidden} ` +
      `(embed ${c.embed}, ${this.vocabulary.size} tokens, up to ${c.maxLength} words), ${this.countParams()} weights`
    );
  }

  dispose(): void {
    this.encoder.dispose();
    this.decoder.dispose();
  }
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`buildCaptioner: ${name} must be a positive integer, got ${value}`);
  return value;
}

/** Builds a captioner with seeded initial weights (the same on every backend). */
export function buildCaptioner(args: CaptionerArgs): Captioner {
  const vocabulary = Array.isArray(args.vocabulary)
    ? createVocabulary(args.vocabulary as readonly string[])
    : (args.vocabulary as Vocabulary);
  const config: CaptionerConfig = {
    imageShape: args.imageShape ?? [32, 32, 3],
    channels: args.channels ?? [32, 64, 128],
    strides: args.strides ?? (args.channels ?? [32, 64, 128]).map(() => 2),
    features: positiveInt(args.features ?? 128, 'features'),
    embed: positiveInt(args.embed ?? 32, 'embed'),
    hidden: positiveInt(args.hidden ?? 128, 'hidden'),
    maxLength: positiveInt(args.maxLength, 'maxLength'),
    seed: args.seed ?? 0,
  };
  for (const [i, ch] of config.channels.entries()) positiveInt(ch, `channels[${i}]`);
  for (const [i, st] of config.strides.entries()) positiveInt(st, `strides[${i}]`);
  if (config.strides.length !== config.channels.length) {
    throw new Error(`buildCaptioner: ${config.strides.length} strides for ${config.channels.length} convolutions`);
  }
  for (const [i, d] of config.imageShape.entries()) positiveInt(d, `imageShape[${i}]`);
  const encoder = buildEncoderModel(config);
  const decoder = buildDecoderModel(config, vocabulary.size);
  const rng = new Rng(config.seed);
  initWeights(encoder, rng.fork());
  initWeights(decoder, rng.fork());
  return new Captioner(encoder, decoder, vocabulary, config);
}

function buildEncoderModel(c: CaptionerConfig): LayersModel {
  const input = tfl.input({ shape: [...c.imageShape], name: 'image' });
  let x: SymbolicTensor = input;
  c.channels.forEach((filters, i) => {
    x = tfl.layers
      .conv2d({ filters, kernelSize: 3, strides: c.strides[i]!, padding: 'same', activation: 'relu', name: `conv${i + 1}` })
      .apply(x) as SymbolicTensor;
  });
  x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as SymbolicTensor;
  const f = tfl.layers.dense({ units: c.features, activation: 'relu', name: 'features' }).apply(x) as SymbolicTensor;
  return tfl.model({ inputs: input, outputs: f, name: 'caption_encoder' });
}

function buildDecoderModel(c: CaptionerConfig, vocabSize: number): LayersModel {
  const steps = c.maxLength + 1;
  const features = tfl.input({ shape: [c.features], name: 'image_features' });
  const tokens = tfl.input({ shape: [steps], dtype: 'int32', name: 'tokens' });
  const embedded = tfl.layers
    .embedding({ inputDim: vocabSize, outputDim: c.embed, name: 'embedding' })
    .apply(tokens) as SymbolicTensor;
  const repeated = tfl.layers.repeatVector({ n: steps, name: 'repeat_features' }).apply(features) as SymbolicTensor;
  const stepInput = tfl.layers.concatenate({ axis: -1, name: 'step_input' }).apply([embedded, repeated]) as SymbolicTensor;
  const h0 = tfl.layers.dense({ units: c.hidden, activation: 'tanh', name: 'init_h' }).apply(features) as SymbolicTensor;
  const c0 = tfl.layers.dense({ units: c.hidden, activation: 'tanh', name: 'init_c' }).apply(features) as SymbolicTensor;
  const lstm = tfl.layers.lstm({
    units: c.hidden,
    returnSequences: true,
    recurrentActivation: 'sigmoid',
    // initWeights sets the orthogonal recurrent kernel; this only skips tfjs's slow QR at build.
    recurrentInitializer: 'glorotUniform',
    name: 'lstm',
  });
  const sequence = lstm.apply(stepInput, { initialState: [h0, c0] }) as SymbolicTensor;
  // The states are inputs of the LSTM's node, so the saved topology carries them. tfjs-layers
  // also keeps them as symbolic tensors in the node's call arguments, which cannot be
  // serialised and are dropped (with a warning) on every save: drop them here, so a built
  // decoder is the same graph as a loaded one.
  for (const node of lstm.inboundNodes) delete node.callArgs?.initialState;
  const logits = tfl.layers.dense({ units: vocabSize, name: 'logits' }).apply(sequence) as SymbolicTensor;
  return tfl.model({ inputs: [features, tokens], outputs: logits, name: 'caption_decoder' });
}

/** Orthonormal columns (modified Gram-Schmidt) of a seeded normal n x n matrix, row-major. */
function orthogonal(n: number, rng: Rng): Float32Array {
  const cols = Array.from({ length: n }, () => Float64Array.from(rng.normalArray(n)));
  for (let j = 0; j < n; j++) {
    const v = cols[j]!;
    for (let k = 0; k < j; k++) {
      const u = cols[k]!;
      let dot = 0;
      for (let i = 0; i < n; i++) dot += u[i]! * v[i]!;
      for (let i = 0; i < n; i++) v[i]! -= dot * u[i]!;
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += v[i]! * v[i]!;
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < n; i++) v[i]! /= norm;
  }
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = cols[j]![i]!;
  return out;
}

/**
 * Seeded initial weights, as tfjs-layers' defaults: Glorot-uniform kernels, orthogonal
 * recurrent kernels (per gate), zero biases with the LSTM's forget-gate bias at 1, and
 * embeddings uniform in [-0.05, 0.05].
 */
function initWeights(model: LayersModel, rng: Rng): void {
  const values = model.weights.map((w) => {
    const shape = w.shape as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    const kind = w.originalName.split('/').at(-1);
    if (kind === 'kernel') {
      const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
      const fanIn = receptive * shape.at(-2)!;
      const fanOut = receptive * shape.at(-1)!;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      return tf.tensor(rng.uniformArray(size, -limit, limit), shape);
    }
    if (kind === 'recurrent_kernel') {
      const [units, gates4] = shape as [number, number];
      const out = new Float32Array(size);
      for (let g = 0; g < gates4 / units; g++) {
        const q = orthogonal(units, rng);
        for (let i = 0; i < units; i++) for (let j = 0; j < units; j++) out[i * gates4 + g * units + j] = q[i * units + j]!;
      }
      return tf.tensor(out, shape);
    }
    if (kind === 'bias') {
      const out = new Float32Array(size);
      if (w.originalName.startsWith('lstm/')) out.fill(1, size / 4, size / 2);
      return tf.tensor(out, shape);
    }
    if (kind === 'embeddings') return tf.tensor(rng.uniformArray(size, -0.05, 0.05), shape);
    throw new Error(`buildCaptioner: no initializer for weight ${w.originalName}`);
  });
  model.setWeights(values);
  tf.dispose(values);
}

/** A caption as text or as word ids (no `<bos>`/`<eos>`). */
export type CaptionInput = string | readonly number[];

/** Word ids of `caption`, checked against the captioner's vocabulary and maxLength. */
export function captionIds(captioner: Captioner, caption: CaptionInput, who = 'caption'): number[] {
  const v = captioner.vocabulary;
  const ids = typeof caption === 'string' ? v.encode(caption) : [...caption];
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= v.size || v.isSpecial(id)) {
      throw new Error(`${who}: ${id} is not a word id (word ids are 3..${v.size - 1})`);
    }
  }
  if (ids.length > captioner.maxLength) {
    const text = typeof caption === 'string' ? JSON.stringify(caption) : `[${ids.join(', ')}]`;
    throw new Error(`${who}: ${text} has ${ids.length} words; the captioner takes at most ${captioner.maxLength}`);
  }
  return ids;
}

/** The teacher-forcing arrays of a batch of captions (row-major [B, T]). */
export interface TeacherForcing {
  /** `<bos> w1 .. wn <pad> ...` */
  inputs: Int32Array;
  /** `w1 .. wn <eos> <pad> ...` */
  targets: Int32Array;
  /** 1 where a target counts (the n words and `<eos>`), 0 on padding. */
  mask: Float32Array;
}

/** Teacher-forcing inputs, targets and mask for word-id captions. */
export function teacherForcing(captioner: Captioner, captions: readonly (readonly number[])[]): TeacherForcing {
  const T = captioner.steps;
  const v = captioner.vocabulary;
  const inputs = new Int32Array(captions.length * T).fill(v.pad);
  const targets = new Int32Array(captions.length * T).fill(v.pad);
  const mask = new Float32Array(captions.length * T);
  captions.forEach((ids, b) => {
    const row = b * T;
    inputs[row] = v.bos;
    ids.forEach((id, t) => {
      inputs[row + t + 1] = id;
      targets[row + t] = id;
      mask[row + t] = 1;
    });
    targets[row + ids.length] = v.eos;
    mask[row + ids.length] = 1;
  });
  return { inputs, targets, mask };
}

/** [B, T, V] weights: the mask at each target id, 0 elsewhere. */
export function targetWeights(forcing: TeacherForcing, batch: number, steps: number, vocabSize: number): Tensor3D {
  const w = new Float32Array(batch * steps * vocabSize);
  for (let i = 0; i < batch * steps; i++) {
    if (forcing.mask[i]! > 0) w[i * vocabSize + forcing.targets[i]!] = forcing.mask[i]!;
  }
  return tf.tensor3d(w, [batch, steps, vocabSize]);
}

/** Resolves one caption (for every image) or one per image into word-id lists. */
export function resolveCaptions(
  captioner: Captioner,
  captions: CaptionInput | readonly CaptionInput[],
  batch: number,
  who: string,
): number[][] {
  const isList = Array.isArray(captions) && captions.length > 0 && typeof captions[0] !== 'number';
  if (!isList) {
    const ids = captionIds(captioner, captions as CaptionInput, who);
    return Array.from({ length: batch }, () => ids);
  }
  const list = captions as readonly CaptionInput[];
  if (list.length !== batch) throw new Error(`${who}: got ${list.length} captions for ${batch} images`);
  return list.map((c) => captionIds(captioner, c, who));
}

/**
 * Teacher-forced token log-probabilities of a batch: log softmax of the decoder's logits
 * [B, T, V] for images [B, H, W, C] and word-id captions.
 */
export function tokenLogProbs(captioner: Captioner, images: Tensor4D, captions: readonly (readonly number[])[]): Tensor3D {
  const forcing = teacherForcing(captioner, captions);
  return tf.tidy(() => {
    const tokens = tf.tensor2d(forcing.inputs, [captions.length, captioner.steps], 'int32');
    return tf.logSoftmax(captioner.logits(captioner.features(images), tokens)) as Tensor3D;
  });
}

/**
 * log p(caption | x) for each image: the sum over the caption's words and the final
 * `<eos>` of log p(w_t | w_<t, x) under teacher forcing. `captions` is one caption (text
 * or word ids) for every image, or one per image. Differentiable with respect to `images`.
 */
export function captionLogProb(
  captioner: Captioner,
  images: Tensor4D,
  captions: CaptionInput | readonly CaptionInput[],
): Tensor1D {
  assertImageBatch(images, captioner.imageShape, 'captionLogProb');
  const batch = images.shape[0];
  const ids = resolveCaptions(captioner, captions, batch, 'captionLogProb');
  const forcing = teacherForcing(captioner, ids);
  return tf.tidy(() => {
    const tokens = tf.tensor2d(forcing.inputs, [batch, captioner.steps], 'int32');
    const weights = targetWeights(forcing, batch, captioner.steps, captioner.vocabulary.size);
    const logp = tf.logSoftmax(captioner.logits(captioner.features(images), tokens));
    return tf.sum(tf.mul(logp, weights), [1, 2]) as Tensor1D;
  });
}
