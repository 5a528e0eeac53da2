import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { type Generator, type ImageShape, shapeToString } from '@ppgn/core';

/** `[batch, 28, 28, 1]` for a symbolic shape (null is the batch). */
export function symbolic(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => d ?? 'batch').join(', ')}]`;
}

/** Options of `dgnGenerator`. */
export interface DgnGeneratorOptions {
  /** Stable id, e.g. `mnist/generator`. Default `dgn(<model name>)`. */
  id?: string;
}

/**
 * A core `Generator` over any tfjs LayersModel with one input [batch, ...latentShape] and
 * one output [batch, H, W, C] (C = 1 or 3) whose values lie in [0, 1] (e.g. a model from
 * `buildGenerator`). `generate` runs the model in inference mode and is differentiable in h.
 * The generator owns the model: `dispose()` disposes it.
 */
export class DgnGenerator implements Generator {
  readonly id: string;
  readonly latentShape: number[];
  readonly imageShape: ImageShape;
  private disposed = false;

  constructor(
    /** The wrapped model; train it through `trainGenerator`. */
    readonly model: LayersModel,
    options: DgnGeneratorOptions = {},
  ) {
    const name = `dgnGenerator(${options.id ?? model.name})`;
    if (model.inputs.length !== 1 || model.outputs.length !== 1) {
      throw new Error(`${name}: the model must have one input and one output, it has ${model.inputs.length} and ${model.outputs.length}`);
    }
    const inShape = model.inputs[0]!.shape;
    const outShape = model.outputs[0]!.shape;
    const latent = inShape.slice(1);
    if (inShape.length < 2 || !latent.every((d): d is number => Number.isInteger(d) && (d as number) > 0)) {
      throw new Error(`${name}: the model input must be [batch, ...latentShape] with known sizes, got ${symbolic(inShape)}`);
    }
    const img = outShape.slice(1);
    if (outShape.length !== 4 || !img.every((d): d is number => Number.isInteger(d) && (d as number) > 0)) {
      throw new Error(`${name}: the model output must be images [batch, height, width, channels], got ${symbolic(outShape)}`);
    }
    if (img[2] !== 1 && img[2] !== 3) {
      throw new Error(`${name}: images must have 1 or 3 channels, the model outputs ${img[2]}`);
    }
    this.id = options.id ?? `dgn(${model.name})`;
    this.latentShape = latent as number[];
    this.imageShape = img as ImageShape;
  }

  /** Maps h [batch, ...latentShape] to images [batch, H, W, C] in [0, 1]. */
  generate(h: Tensor): Tensor4D {
    if (this.disposed) throw new Error(`${this.id}: generate called after dispose`);
    const want = this.latentShape;
    if (h.rank !== want.length + 1 || h.shape.slice(1).some((d, i) => d !== want[i])) {
      throw new Error(
        `${this.id}: expected h of shape [batch, ${want.join(', ')}], got [${h.shape.join(', ')}]`,
      );
    }
    return tf.tidy(() => this.model.apply(h, { training: false }) as Tensor4D);
  }

  describe(): string {
    return (
      `DGN generator ${shapeToString(this.latentShape)}-d h -> ${shapeToString(this.imageShape)} images ` +
      `(${this.model.layers.length} layers, ${this.model.countParams()} parameters)`
    );
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
  }
}

/** Wraps a LayersModel as a core `Generator` (see `DgnGenerator`); validates its shapes. */
export function dgnGenerator(model: LayersModel, options: DgnGeneratorOptions = {}): DgnGenerator {
  return new DgnGenerator(model, options);
}
