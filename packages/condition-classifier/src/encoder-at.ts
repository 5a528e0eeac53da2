import type { Encoder } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { type ImageInputOptions, imageInput, layerModel } from './model-input.js';

const WHO = 'encoderAt';

/** Options of `encoderAt`: how images reach the model. */
export interface EncoderAtOptions extends ImageInputOptions {}

/**
 * E(x): the flattened activations of one layer of a classifier, e.g. the fc6 of PPGN
 * (h = E(x)). Built as a sub-model sharing the classifier's layers and weights; it owns no
 * tensors, so `dispose()` leaves the model to the caller.
 *
 * @example
 * const encoder = encoderAt(classifier, 'dense_1');
 * const h = encoder.encode(images); // [B, encoder.codeShape[0]]
 */
export function encoderAt(model: LayersModel, layerName: string, options: EncoderAtOptions = {}): Encoder {
  const feed = imageInput(model, options, WHO, 'encoder');
  const sub = layerModel(model, layerName, WHO);
  const imageShape = feed.imageShape;
  if (imageShape === undefined) {
    throw new Error(`${WHO}: the model's input size is not fixed; pass imageShape or input`);
  }
  const outShape = sub.outputs[0]!.shape.slice(1);
  if (outShape.some((d) => d === null)) {
    throw new Error(`${WHO}: layer '${layerName}' has output shape [${outShape.map((d) => d ?? '?').join(', ')}]; its size must be fixed`);
  }
  const size = (outShape as number[]).reduce((a, b) => a * b, 1);
  const adapterText = feed.describe();
  return {
    id: `encoder(${model.name}/${layerName})`,
    imageShape,
    codeShape: [size],
    describe: () =>
      `activations of layer '${layerName}' of '${model.name}' (${size} values)${adapterText ? `, through ${adapterText}` : ''}`,
    encode(x: Tensor4D): Tensor2D {
      return tf.tidy(() => {
        const out = sub.apply(feed.prepare(x), { training: false }) as tf.Tensor;
        return tf.reshape(out, [out.shape[0]!, size]) as Tensor2D;
      });
    },
    dispose() {},
  };
}
