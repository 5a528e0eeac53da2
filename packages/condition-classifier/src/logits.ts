import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-core';
import { type LayersModel, model as functionalModel, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import type { ModelLayer } from './model-input.js';

/** Where a classifier's logits come from. */
export type LogitsSource =
  /** The model's output is already logits. */
  | { kind: 'output' }
  /** The model ends in a separate softmax layer; logits are that layer's input. */
  | { kind: 'softmax-layer'; layer: string }
  /** The model's last Dense layer has a fused softmax; logits are recomputed without it. */
  | { kind: 'fused-dense'; layer: string };

/**
 * A differentiable map from model input to logits that reads through a final softmax.
 * Shares the model's weights (live: later training of the model is seen here) and owns no
 * tensors.
 */
export interface LogitsModel {
  /** Model input [B, ...] -> logits [B, K]. */
  predict(x: Tensor): Tensor2D;
  /** K, when the model declares it. */
  readonly numClasses: number | undefined;
  readonly source: LogitsSource;
}

function layerConfig(layer: ModelLayer): Record<string, unknown> {
  return layer.getConfig() as Record<string, unknown>;
}

/** 'softmax-layer', 'fused' (Dense or other) or undefined when the layer does not apply softmax. */
function softmaxKind(layer: ModelLayer): 'softmax-layer' | 'fused' | undefined {
  const className = layer.getClassName();
  const config = layerConfig(layer);
  if (className === 'Softmax') {
    const axis = config.axis;
    if (axis === undefined || axis === -1 || axis === 1 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === 1))) {
      return 'softmax-layer';
    }
    return undefined;
  }
  if (config.activation !== 'softmax') return undefined;
  return className === 'Activation' ? 'softmax-layer' : 'fused';
}

function singleOutput(model: LayersModel, who: string): SymbolicTensor {
  if (model.outputs.length !== 1 || model.inputs.length !== 1) {
    throw new Error(
      `${who}: the model has ${model.inputs.length} inputs and ${model.outputs.length} outputs; expected one of each`,
    );
  }
  return model.outputs[0]!;
}

/**
 * True when `model` (a LayersModel) ends in a softmax: a `Softmax` layer, an `Activation`
 * layer with softmax, or a layer with `activation: 'softmax'`.
 */
export function endsInSoftmax(model: LayersModel): boolean {
  const out = singleOutput(model, 'endsInSoftmax');
  return softmaxKind(out.sourceLayer) !== undefined;
}

/** A model from `model`'s input to `tensor`, or the identity when `tensor` is the input. */
function modelTo(model: LayersModel, tensor: SymbolicTensor): (x: Tensor) => Tensor {
  if (model.inputs.includes(tensor)) return (x) => x;
  const sub = functionalModel({ inputs: model.inputs, outputs: tensor, name: `${model.name}_logits_features` });
  return (x) => sub.apply(x, { training: false }) as Tensor;
}

function lastDim(shape: ReadonlyArray<number | null>): number | undefined {
  const d = shape[shape.length - 1];
  return d === null || d === undefined ? undefined : d;
}

/**
 * Reads a LayersModel's logits, looking through a final softmax when there is one:
 * - a separate `Softmax` / `Activation('softmax')` layer: logits are its input (a sub-model
 *   sharing the model's layers);
 * - a `Dense` layer with `activation: 'softmax'`: logits = features . kernel + bias, with the
 *   layer's own (live) weights;
 * - no softmax: the model's output.
 * Any other layer with a fused softmax is an error (end the model with a separate softmax).
 */
export function logitsModel(model: LayersModel): LogitsModel {
  const who = 'logitsModel';
  const out = singleOutput(model, who);
  const layer = out.sourceLayer;
  const kind = softmaxKind(layer);
  if (kind === undefined) {
    return {
      source: { kind: 'output' },
      numClasses: lastDim(out.shape),
      predict: (x) => model.apply(x, { training: false }) as Tensor2D,
    };
  }
  const features = out.inputs.length === 1 ? out.inputs[0]! : undefined;
  if (features === undefined) {
    throw new Error(`${who}: the softmax layer '${layer.name}' has ${out.inputs.length} inputs; expected one`);
  }
  const toFeatures = modelTo(model, features);
  if (kind === 'softmax-layer') {
    return {
      source: { kind: 'softmax-layer', layer: layer.name },
      numClasses: lastDim(out.shape),
      predict: (x) => toFeatures(x) as Tensor2D,
    };
  }
  if (layer.getClassName() !== 'Dense' || features.shape.length !== 2) {
    throw new Error(
      `${who}: layer '${layer.name}' (${layer.getClassName()}) applies a fused softmax that cannot be read through; end the model with a separate softmax layer (tf.layers.softmax()) or pass a model that outputs logits`,
    );
  }
  const useBias = layerConfig(layer).useBias !== false;
  return {
    source: { kind: 'fused-dense', layer: layer.name },
    numClasses: lastDim(out.shape),
    predict(x: Tensor): Tensor2D {
      return tf.tidy(() => {
        // getWeights() returns the layer's live variables (no copy).
        const [kernel, bias] = layer.getWeights();
        const z = tf.matMul(toFeatures(x) as Tensor2D, kernel as Tensor2D);
        return (useBias && bias !== undefined ? tf.add(z, bias) : z) as Tensor2D;
      });
    },
  };
}
