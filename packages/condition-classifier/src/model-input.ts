import { assertImageBatch, type ImageShape, shapeToString } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensorMap, Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { type LayersModel, model as functionalModel, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import type { InputAdapter } from './input-adapter.js';

/** One layer of a LayersModel. */
export type ModelLayer = LayersModel['layers'][number];

/**
 * The part of a tfjs-converter `GraphModel` used here (structural, so this package does not
 * import the converter). `execute` must be synchronous (no control-flow ops).
 */
export interface GraphModelLike {
  execute(inputs: Tensor | Tensor[] | NamedTensorMap, outputs?: string | string[]): Tensor | Tensor[];
  readonly inputs: ReadonlyArray<{ name: string; shape?: number[] }>;
  readonly outputs: ReadonlyArray<{ name: string; shape?: number[] }>;
}

/** A function from a batch of model inputs to a [B, K] batch of scores. Must be differentiable. */
export type ModelFunction = (x: Tensor) => Tensor;

/** Anything a classifier condition can read: a LayersModel, a GraphModel, or a plain function. */
export type ClassifierModel = LayersModel | GraphModelLike | ModelFunction;

/** True for a tfjs-layers model (LayersModel or Sequential). */
export function isLayersModel(model: unknown): model is LayersModel {
  return (
    typeof model === 'object' &&
    model !== null &&
    Array.isArray((model as LayersModel).layers) &&
    Array.isArray((model as LayersModel).inputs) &&
    typeof (model as LayersModel).apply === 'function'
  );
}

/** True for a tfjs-converter GraphModel (or anything with its `execute`). */
export function isGraphModel(model: unknown): model is GraphModelLike {
  return (
    typeof model === 'object' &&
    model !== null &&
    typeof (model as GraphModelLike).execute === 'function' &&
    !isLayersModel(model)
  );
}

/**
 * Finds a top-level layer by name; the error lists every layer name.
 * @param who the caller, for the error message
 */
export function findLayer(model: LayersModel, name: string, who: string): ModelLayer {
  const layer = model.layers.find((l) => l.name === name);
  if (layer === undefined) {
    const names = model.layers.map((l) => `'${l.name}'`).join(', ');
    throw new Error(`${who}: no layer named '${name}'; the model's layers are ${names}`);
  }
  return layer;
}

function outputOf(layer: ModelLayer, who: string): SymbolicTensor {
  let out: SymbolicTensor | SymbolicTensor[];
  try {
    out = layer.output;
  } catch (err) {
    throw new Error(`${who}: cannot read the output of layer '${layer.name}': ${(err as Error).message}`);
  }
  if (Array.isArray(out)) {
    throw new Error(`${who}: layer '${layer.name}' has ${out.length} outputs; pick a layer with one output`);
  }
  return out;
}

/**
 * A model from `model`'s inputs to the output of `layerName`, sharing `model`'s layers and
 * weights (nothing is copied). Do not call `dispose()` on it: that would release layers the
 * original model still uses.
 */
export function layerModel(model: LayersModel, layerName: string, who = 'layerModel'): LayersModel {
  if (model.inputs.length !== 1) {
    throw new Error(`${who}: the model has ${model.inputs.length} inputs; only single-input models are supported`);
  }
  const layer = findLayer(model, layerName, who);
  return functionalModel({ inputs: model.inputs, outputs: outputOf(layer, who), name: `${model.name}_to_${layerName}` });
}

/** The shape of one model input without the batch axis; `null` for unknown sizes. */
export function modelInputShape(model: ClassifierModel): Array<number | null> | undefined {
  if (typeof model === 'function') return undefined;
  if (isLayersModel(model)) return model.inputs[0]?.shape.slice(1) ?? undefined;
  const shape = model.inputs[0]?.shape;
  return shape?.slice(1).map((d) => (d === -1 || d === null ? null : d));
}

/** How images reach a model: the image shape accepted, and the map from images to model input. */
export interface ImageInput {
  /** The images accepted ([H, W, C]), or undefined when any shape passes through. */
  readonly imageShape: ImageShape | undefined;
  /** The model's own input shape (no batch axis) when known. */
  readonly modelShape: Array<number | null> | undefined;
  /** Images [B, ...imageShape] -> model input (adapted, flattened for vector-input models). */
  prepare(x: Tensor4D): Tensor;
  /** e.g. `32x32x3 -> 28x28x1 (bilinear, luminance)`, or '' when images go in as they are. */
  describe(): string;
}

/** Options shared by every model-reading part: how images become model input. */
export interface ImageInputOptions {
  /** Adapter from the generator's images to the model's input. */
  input?: InputAdapter;
  /**
   * The image shape the part should accept. Needed for vector-input models
   * (e.g. a [784] MLP: `imageShape: [28, 28, 1]`) and plain functions; otherwise it is
   * checked against the model (pass `input` to adapt when they differ).
   */
  imageShape?: ImageShape;
}

function sameImageShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function fits(shape: ImageShape, model: ReadonlyArray<number | null>): boolean {
  return model.length === 3 && model.every((d, i) => d === null || d === shape[i]);
}

function modelShapeToString(shape: ReadonlyArray<number | null>): string {
  return shape.map((d) => d ?? '?').join('x');
}

/**
 * Resolves how images reach `model` and checks every shape up front, with errors that say
 * what to pass. Image models ([H, W, C]) take images as they are (or through `input`);
 * vector models ([N]) take flattened images when H * W * C = N.
 * @param who the caller, for error messages
 * @param part what is being built, for error messages ('condition', 'encoder', ...)
 */
export function imageInput(
  model: ClassifierModel,
  options: ImageInputOptions,
  who: string,
  part = 'condition',
): ImageInput {
  const { input, imageShape: asked } = options;
  const modelShape = modelInputShape(model);
  if (input !== undefined && asked !== undefined && !sameImageShape(input.from, asked)) {
    throw new Error(
      `${who}: imageShape ${shapeToString(asked)} differs from the input adapter's from ${shapeToString(input.from)}`,
    );
  }
  // What reaches the model's input (before any flattening).
  const fed = input?.to ?? asked;
  let flatSize: number | undefined;
  let accepted: ImageShape | undefined = input?.from ?? asked;

  if (modelShape !== undefined) {
    if (modelShape.length === 3) {
      if (fed !== undefined && !fits(fed, modelShape)) {
        const expects = modelShapeToString(modelShape);
        if (input !== undefined) {
          throw new Error(
            `${who}: the input adapter makes ${shapeToString(fed)} images but the model expects ${expects} images; set the adapter's to: [${modelShape.map((d) => d ?? '?').join(', ')}]`,
          );
        }
        throw new Error(
          `${who}: model expects ${expects} images, ${part} was asked to accept ${shapeToString(fed)}; pass input: inputAdapter({ from: [${fed.join(', ')}], to: [${modelShape.map((d) => d ?? '?').join(', ')}] })`,
        );
      }
      if (accepted === undefined && modelShape.every((d) => d !== null)) accepted = modelShape as ImageShape;
    } else if (modelShape.length === 1) {
      const n = modelShape[0];
      if (fed === undefined) {
        throw new Error(
          `${who}: the model takes flat vectors of ${n ?? 'unknown'} values, not images; pass imageShape (e.g. [28, 28, 1] for 784) or input: inputAdapter({...})`,
        );
      }
      const size = fed[0] * fed[1] * fed[2];
      if (n !== null && n !== size) {
        throw new Error(
          `${who}: the model takes flat vectors of ${n} values but ${shapeToString(fed)} images have ${size}`,
        );
      }
      flatSize = size;
    } else {
      throw new Error(
        `${who}: the model's input has shape [batch, ${modelShape.map((d) => d ?? '?').join(', ')}]; expected images [batch, height, width, channels] or flat vectors [batch, n]`,
      );
    }
  }

  const adapterText = input?.describe() ?? '';
  return {
    imageShape: accepted,
    modelShape,
    describe: () => adapterText,
    prepare(x: Tensor4D): Tensor {
      if (accepted !== undefined) assertImageBatch(x, accepted, who);
      return tf.tidy(() => {
        const y = input !== undefined ? input.adapt(x) : x;
        if (flatSize !== undefined) return tf.reshape(y, [y.shape[0], flatSize]);
        return y;
      });
    },
  };
}

/**
 * Runs a LayersModel, GraphModel or function on a prepared input, differentiably.
 * @param outputName GraphModel only: the node to read (default: the model's output).
 */
export function runModel(model: ClassifierModel, x: Tensor, outputName?: string): Tensor {
  if (typeof model === 'function') return model(x);
  if (isLayersModel(model)) {
    const out = model.apply(x, { training: false });
    if (Array.isArray(out)) throw new Error(`the model '${model.name}' has ${out.length} outputs; expected one`);
    return out as Tensor;
  }
  const out = outputName === undefined ? model.execute(x) : model.execute(x, outputName);
  if (Array.isArray(out)) throw new Error(`the graph model has ${out.length} outputs; expected one (pass its name)`);
  return out;
}
