/** The conv net pairs of the benchmark, at 32x32x3: a small reference pair and copies of the zoo's shapes models. */
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

/** Code size and classes of the zoo's shapes entry, which the second sampler pair mirrors. */
export const ZOO_CODE_SIZE = 256;
export const ZOO_CLASSES = 15;

/**
 * A copy of the zoo's shapes generator (`buildGenerator` of @ppgn/generator with the shapes
 * recipe's settings: latentSize 256, fcUnits [512], baseChannels 128, 32x32x3): h(256) ->
 * dense 512 -> dense 4x4x128 -> three stages of a k4 s2 up-convolution and a k3 conv (64, 32,
 * 32 channels) -> k3 conv to 3 channels, sigmoid; LeakyReLU(0.3) after every hidden layer.
 * Defined here because this package must not depend on the generator package.
 */
export function zooGenerator(seed = 3): tf.LayersModel {
  const init = (s: number) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 100 + s }) });
  const lrelu = (x: tf.SymbolicTensor) => tf.layers.leakyReLU({ alpha: 0.3 }).apply(x) as tf.SymbolicTensor;
  const input = tf.input({ shape: [ZOO_CODE_SIZE] });
  let x = lrelu(tf.layers.dense({ units: 512, ...init(1) }).apply(input) as tf.SymbolicTensor);
  x = lrelu(tf.layers.dense({ units: 4 * 4 * 128, ...init(2) }).apply(x) as tf.SymbolicTensor);
  x = tf.layers.reshape({ targetShape: [4, 4, 128] }).apply(x) as tf.SymbolicTensor;
  [64, 32, 32].forEach((filters, i) => {
    x = lrelu(
      tf.layers.conv2dTranspose({ filters, kernelSize: 4, strides: 2, padding: 'same', ...init(3 + 2 * i) }).apply(x) as tf.SymbolicTensor,
    );
    x = lrelu(tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', ...init(4 + 2 * i) }).apply(x) as tf.SymbolicTensor);
  });
  const image = tf.layers
    .conv2d({ filters: IMAGE_SHAPE[2], kernelSize: 3, padding: 'same', activation: 'sigmoid', ...init(9) })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: image, name: 'zoo_shapes_generator' });
}

/**
 * A copy of the zoo's condition classifier (`buildConditionClassifier` in @ppgn/zoo's
 * architectures, as the shapes recipe builds it): conv3x3 32, conv3x3 32, maxpool, conv3x3 64,
 * conv3x3 64, maxpool, dense 256 ReLU, dropout 0.3 (off when sampling), dense 15 logits.
 */
export function zooClassifier(seed = 4): tf.LayersModel {
  const init = (s: number) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 100 + s }) });
  const conv = (filters: number, s: number) => tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu', ...init(s) });
  const input = tf.input({ shape: [...IMAGE_SHAPE] });
  let x = conv(32, 1).apply(input) as tf.SymbolicTensor;
  x = conv(32, 2).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  x = conv(64, 3).apply(x) as tf.SymbolicTensor;
  x = conv(64, 4).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: ZOO_CODE_SIZE, activation: 'relu', ...init(5) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.3, seed: seed * 100 + 6 }).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: ZOO_CLASSES, ...init(7) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: 'zoo_shapes_classifier' });
}
