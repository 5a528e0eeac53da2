import type { ImageShape } from '@ppgn/core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';

function init(seed: number) {
  return tfl.initializers.glorotUniform({ seed });
}

/**
 * The condition classifier C (and so the encoder E): two conv blocks, then `fc`, the
 * post-ReLU code layer h = E(x), then linear logits. `pool2` is the lower layer h1 used for
 * feature matching when training G.
 */
export function buildConditionClassifier(imageShape: ImageShape, numClasses: number, codeSize: number, seed: number): LayersModel {
  let k = seed;
  const input = tfl.input({ shape: imageShape, name: 'image' });
  let x = tfl.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv1', kernelInitializer: init(k++) }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv1b', kernelInitializer: init(k++) }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv2', kernelInitializer: init(k++) }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv2b', kernelInitializer: init(k++) }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool2' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ units: codeSize, activation: 'relu', name: 'fc', kernelInitializer: init(k++) }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dropout({ rate: 0.3, name: 'dropout', seed: k++ }).apply(x) as tfl.SymbolicTensor;
  const logits = tfl.layers.dense({ units: numClasses, name: 'logits', kernelInitializer: init(k++) }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: logits, name: 'condition_classifier' });
}

/**
 * The evaluator: another architecture (5x5 convs, average pooling, a narrower feature
 * layer) trained with another seed, so samples are not judged by the net that steered them.
 */
export function buildEvaluatorClassifier(imageShape: ImageShape, numClasses: number, seed: number): LayersModel {
  let k = seed;
  const input = tfl.input({ shape: imageShape, name: 'image' });
  let x = tfl.layers.conv2d({ filters: 24, kernelSize: 5, padding: 'same', activation: 'elu', name: 'e_conv1', kernelInitializer: init(k++) }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.averagePooling2d({ poolSize: 2, name: 'e_pool1' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.conv2d({ filters: 48, kernelSize: 5, padding: 'same', activation: 'elu', name: 'e_conv2', kernelInitializer: init(k++) }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.averagePooling2d({ poolSize: 2, name: 'e_pool2' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.flatten({ name: 'e_flatten' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ units: 128, activation: 'elu', name: 'features', kernelInitializer: init(k++) }).apply(x) as tfl.SymbolicTensor;
  const logits = tfl.layers.dense({ units: numClasses, name: 'e_logits', kernelInitializer: init(k++) }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: logits, name: 'evaluator' });
}
