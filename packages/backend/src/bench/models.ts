/** The reference conv net pair of the benchmark, at 32x32x3. */
import * as tf from '@tensorflow/tfjs';

export const CODE_SIZE = 128;
export const IMAGE_SHAPE = [32, 32, 3] as const;
export const CLASSES = 10;

/**
 * A small DGN-style generator G(h): dense from a 128-d code to 4x4x128, then three stride-2
 * 4x4 transposed convs to 8x8x64, 16x16x32 and a 32x32x3 sigmoid image; LeakyReLU(0.3) between.
 */
export function benchGenerator(seed = 1): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 100 + s });
  const lrelu = () => tf.layers.leakyReLU({ alpha: 0.3 });
  return tf.sequential({
    name: 'bench_generator',
    layers: [
      tf.layers.dense({ inputShape: [CODE_SIZE], units: 4 * 4 * 128, kernelInitializer: init(1) }),
      lrelu(),
      tf.layers.reshape({ targetShape: [4, 4, 128] }),
      tf.layers.conv2dTranspose({ filters: 64, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: init(2) }),
      lrelu(),
      tf.layers.conv2dTranspose({ filters: 32, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: init(3) }),
      lrelu(),
      tf.layers.conv2dTranspose({
        filters: 3,
        kernelSize: 4,
        strides: 2,
        padding: 'same',
        activation: 'sigmoid',
        kernelInitializer: init(4),
      }),
    ],
  });
}

/**
 * A small classifier C(x): 3x3 convs (32 stride 1, 64 stride 2, 128 stride 2, ReLU), then dense
 * to 10 logits. `probabilities` adds a softmax on top (same weights) for cross-entropy training.
 */
export function benchClassifier(seed = 2): { logits: tf.LayersModel; probabilities: tf.LayersModel } {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 100 + s });
  const input = tf.input({ shape: [...IMAGE_SHAPE] });
  let x = tf.layers
    .conv2d({ filters: 32, kernelSize: 3, strides: 1, padding: 'same', activation: 'relu', kernelInitializer: init(1) })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers
    .conv2d({ filters: 64, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init(2) })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .conv2d({ filters: 128, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init(3) })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: CLASSES, kernelInitializer: init(4) }).apply(x) as tf.SymbolicTensor;
  const probs = tf.layers.activation({ activation: 'softmax' }).apply(logits) as tf.SymbolicTensor;
  return {
    logits: tf.model({ inputs: input, outputs: logits, name: 'bench_classifier_logits' }),
    probabilities: tf.model({ inputs: input, outputs: probs, name: 'bench_classifier' }),
  };
}
