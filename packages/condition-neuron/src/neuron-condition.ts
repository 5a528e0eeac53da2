import { type ImageInputOptions, imageInput } from '@ppgn/condition-classifier';
import type { Condition } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor1D, Tensor4D } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { centre, checkPosition, checkUnit, layerReader, type Position, spatialSize, unitsAt } from './unit.js';

/**
 * What the condition maximises for unit u with activations a (the channel vector at the
 * position for a conv layer, the layer's units for a dense layer):
 * - `activation` (default): a_u, the raw activation;
 * - `softmax`: log softmax(a)_u = a_u - log sum_k exp a_k, the official PPGN neuron
 *   visualisation objective (a log-probability: it also pushes the other channels down).
 */
export type NeuronObjective = 'activation' | 'softmax';

/** Arguments of `neuronCondition`. */
export interface NeuronConditionArgs extends ImageInputOptions {
  /** Any tfjs LayersModel with one input. */
  model: LayersModel;
  /** Name of a dense ([B, units]) or 2-D conv ([B, H, W, C]) layer. */
  layer: string;
  /** The unit: a channel of a conv layer, a unit of a dense layer. */
  unit: number;
  /** Conv layers only: [row, col] in the layer's output. Default the centre, Math.floor(size / 2). */
  position?: Position;
  /** Default `activation`; see `NeuronObjective`. */
  objective?: NeuronObjective;
}

const WHO = 'neuronCondition';

/**
 * A Condition for one hidden unit of a classifier: the "multifaceted feature visualisation"
 * of PPGN, where sampling finds the many kinds of image that excite the unit. A conv unit is
 * one channel at one spatial position; a dense unit is one unit.
 *
 * Reads the layer through a sub-model that shares the model's weights; the condition owns no
 * tensors and `dispose()` leaves the model to the caller.
 *
 * @example
 * const condition = neuronCondition({ model, layer: 'conv5', unit: 12 }); // centre position
 */
export function neuronCondition(args: NeuronConditionArgs): Condition {
  const { model, layer: layerName, unit } = args;
  const objective = args.objective ?? 'activation';
  if (objective !== 'activation' && objective !== 'softmax') {
    throw new Error(`${WHO}: unknown objective '${objective}', expected activation or softmax`);
  }
  const feed = imageInput(model, { input: args.input, imageShape: args.imageShape }, WHO);
  const reader = layerReader(model, layerName, WHO);
  const { geometry } = reader;
  checkUnit(unit, geometry, layerName, WHO);

  let fixedPosition: Position | undefined;
  if (geometry.kind === 'dense') {
    if (args.position !== undefined) {
      throw new Error(`${WHO}: layer '${layerName}' is a dense layer with no spatial positions; leave position unset`);
    }
  } else {
    const [h, w] = geometry.spatial!;
    if (h !== null && w !== null) {
      fixedPosition = args.position ?? centre(h, w);
      checkPosition(fixedPosition, h, w, layerName, WHO);
    }
  }

  const where = geometry.kind === 'conv' ? `@${JSON.stringify(fixedPosition ?? args.position ?? 'centre')}` : '';
  const id = `neuron(${layerName}/${unit}${where}${objective === 'softmax' ? ', softmax' : ''})`;
  const place =
    geometry.kind === 'conv'
      ? `channel ${unit} of ${geometry.units} of conv layer '${layerName}' at ${fixedPosition ? `(${fixedPosition.join(', ')})` : 'the centre'}`
      : `unit ${unit} of ${geometry.units} of dense layer '${layerName}'`;
  const adapterText = feed.describe();
  const description = `${objective === 'softmax' ? 'log softmax across units of' : 'activation of'} ${place} in '${model.name}'${adapterText ? `, through ${adapterText}` : ''}`;

  return {
    id,
    imageShape: feed.imageShape,
    describe: () => description,
    logProb(x: Tensor4D): Tensor1D {
      return tf.tidy(() => {
        const activations = reader.model.apply(feed.prepare(x), { training: false }) as Tensor;
        let position = fixedPosition;
        if (geometry.kind === 'conv' && position === undefined) {
          const [h, w] = spatialSize(activations, geometry);
          position = args.position ?? centre(h, w);
          checkPosition(position, h, w, layerName, WHO);
        }
        let values = unitsAt(activations, geometry, position);
        if (objective === 'softmax') values = tf.logSoftmax(values);
        return tf.reshape(tf.slice(values, [0, unit], [-1, 1]), [-1]) as Tensor1D;
      });
    },
    dispose() {},
  };
}
