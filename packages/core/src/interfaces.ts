import type { Tensor, Tensor1D, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';

/**
 * [height, width, channels] of one image. Images cross every interface as NHWC float32
 * in [0, 1] with 1 or 3 channels; an adapter does its own normalisation inside.
 */
export type ImageShape = [height: number, width: number, channels: number];

/** What every part shares: a stable id, a human description, and explicit disposal. */
export interface Part {
  /** Short stable identifier, e.g. `mnist/generator` or `class(3)`. */
  readonly id: string;
  /** One line for logs, model cards and error messages. */
  describe(): string;
  /** Frees every tensor the part owns. Safe to call twice. */
  dispose(): void;
}

/**
 * G: maps a batch of latent codes h ([B, ...latentShape]) to images [B, H, W, C] in [0, 1].
 * Synchronous and differentiable so that `tf.grad` flows through it into h.
 */
export interface Generator extends Part {
  /** Shape of one latent code, without the batch dimension (e.g. [128]). */
  readonly latentShape: number[];
  readonly imageShape: ImageShape;
  generate(h: Tensor): Tensor4D;
}

/** E: maps images [B, H, W, C] in [0, 1] to codes h = E(x) of shape [B, codeSize]. */
export interface Encoder extends Part {
  readonly imageShape: ImageShape;
  /** Shape of one code, without the batch dimension. */
  readonly codeShape: number[];
  encode(x: Tensor4D): Tensor2D;
}

/**
 * C: scores log p(y | x) for each image of a batch. Differentiable in x.
 * `imageShape` is the image shape the condition accepts (after its own adapter);
 * leave it undefined when any shape works.
 */
export interface Condition extends Part {
  readonly imageShape?: ImageShape;
  logProb(x: Tensor4D): Tensor1D;
}

/**
 * A prior on the latent code. `space` says where its gradient lives:
 * - 'h': `gradLogProb(h, x)` is d log p(h) / dh (e.g. (R(h) - h) / sigma^2). x = G(h) is
 *   passed in so a joint prior R(h) = E(G(h)) needs no second generator pass.
 * - 'x': `gradLogProb(h, x)` is d log p(x) / dx at x = G(h) (e.g. a pixel DAE); the sampler
 *   pulls it back into h through G in the same backward pass as the condition.
 * The returned tensor is a direction, not differentiated further.
 */
export interface Prior extends Part {
  readonly space: 'h' | 'x';
  gradLogProb(h: Tensor, x: Tensor4D): Tensor;
}
