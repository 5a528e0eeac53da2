import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Tensor4D } from '@tensorflow/tfjs-core';

/**
 * An evaluator: a classifier trained apart from the condition network (another
 * architecture and seed), so samples are not judged by the net that steered them. It gives
 * class probabilities and the features of one hidden layer for every image.
 */
export interface EvaluatorOutputs {
  /** [n * numClasses] softmax probabilities. */
  probs: Float32Array;
  numClasses: number;
  /** [n * featureDim] flattened activations of the feature layer. */
  features: Float32Array;
  featureDim: number;
}

export interface Evaluator {
  readonly id: string;
  readonly classNames: string[];
  /** Runs in batches; the images tensor is not disposed. */
  evaluate(images: Tensor4D, batchSize?: number): EvaluatorOutputs;
  dispose(): void;
}

export interface EvaluatorOptions {
  id?: string;
  model: tfl.LayersModel;
  /** Name of the hidden layer whose activations are the features (for FID, diversity, neighbours). */
  featureLayer: string;
  classNames?: string[];
  /** Whether the model outputs logits (default: detected from a softmax on the last layer). */
  outputs?: 'logits' | 'probabilities';
}

function lastActivation(model: tfl.LayersModel): string | undefined {
  const last = model.layers[model.layers.length - 1];
  const config = last?.getConfig() as { activation?: string } | undefined;
  return config?.activation;
}

export function createEvaluator(options: EvaluatorOptions): Evaluator {
  const { model, featureLayer } = options;
  const names = model.layers.map((l) => l.name);
  if (!names.includes(featureLayer)) {
    throw new Error(`createEvaluator: no layer '${featureLayer}'; layers are ${names.join(', ')}`);
  }
  const outputShape = model.outputs[0]!.shape;
  const numClasses = outputShape[outputShape.length - 1]!;
  const classNames = options.classNames ?? Array.from({ length: numClasses }, (_, i) => String(i));
  if (classNames.length !== numClasses) {
    throw new Error(`createEvaluator: model has ${numClasses} classes but ${classNames.length} class names were given`);
  }
  const outputs = options.outputs ?? (lastActivation(model) === 'softmax' ? 'probabilities' : 'logits');
  const both = tfl.model({ inputs: model.inputs, outputs: [model.getLayer(featureLayer).output as tfl.SymbolicTensor, model.outputs[0]!] });
  return {
    id: options.id ?? `evaluator(${model.name})`,
    classNames,
    evaluate(images, batchSize = 256) {
      const n = images.shape[0];
      let featureDim = 0;
      const probParts: Float32Array[] = [];
      const featureParts: Float32Array[] = [];
      for (let start = 0; start < n; start += batchSize) {
        const size = Math.min(batchSize, n - start);
        const [f, p] = tf.tidy(() => {
          const batch = tf.slice(images, [start, 0, 0, 0], [size, -1, -1, -1]);
          const [feat, out] = both.predict(batch) as tf.Tensor[];
          const flat = tf.reshape(feat!, [size, -1]);
          const probs = outputs === 'logits' ? tf.softmax(out!) : out!;
          return [flat, probs];
        });
        featureDim = f.shape[1]!;
        featureParts.push(f.dataSync() as Float32Array);
        probParts.push(p.dataSync() as Float32Array);
        tf.dispose([f, p]);
      }
      return { probs: concat(probParts), numClasses, features: concat(featureParts), featureDim };
    },
    dispose() {
      // The sub-model shares the classifier's weights; disposing the classifier frees them.
      model.dispose();
    },
  };
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
