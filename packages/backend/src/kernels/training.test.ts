import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNativeTensorFlow } from '../native/load.js';
import { randomValues, relativeError, seeded, setupBackends } from './test-utils.js';

/**
 * End to end: tiny models of each kind train with Adam on wasm, and on native TensorFlow
 * when a binding loads here. At every step the cpu copy of the model is given the trained
 * copy's current weights, so the gradients of the two backends are compared at the same
 * point (no drift), and the loss has to go down.
 */
await setupBackends();
const native = await loadNativeTensorFlow();
const backends = native.ok ? ['wasm', 'tensorflow'] : ['wasm'];

/** Seeded initialisers: every run compares the same models. */
const init = (seed: number) => tf.initializers.glorotUniform({ seed });

interface Task {
  build: () => tf.LayersModel;
  x: () => tf.Tensor;
  y: () => tf.Tensor;
  loss: (y: tf.Tensor, pred: tf.Tensor) => tf.Scalar;
}

function convNet(): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.upSampling2d({ inputShape: [6, 6, 3], size: [2, 2], interpolation: 'bilinear' }));
  // No bias before batch norm: its gradient is zero up to rounding, so not comparable.
  m.add(tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: init(1010) }));
  m.add(tf.layers.batchNormalization());
  m.add(tf.layers.leakyReLU({ alpha: 0.2 }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', depthwiseInitializer: init(1020) }));
  m.add(tf.layers.conv2d({ filters: 6, kernelSize: 2, padding: 'valid', kernelInitializer: init(1030) }));
  m.add(tf.layers.averagePooling2d({ poolSize: 2, padding: 'same' }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 4, kernelInitializer: init(1040) }));
  return m;
}

function generator(): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [12], units: 4 * 4 * 16, kernelInitializer: init(1050) }));
  m.add(tf.layers.reshape({ targetShape: [4, 4, 16] }));
  m.add(tf.layers.conv2dTranspose({ filters: 12, kernelSize: 4, strides: 2, padding: 'same', useBias: false, kernelInitializer: init(1060) }));
  m.add(tf.layers.batchNormalization());
  m.add(tf.layers.leakyReLU({ alpha: 0.2 }));
  m.add(tf.layers.conv2dTranspose({ filters: 8, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: init(1070) }));
  m.add(tf.layers.leakyReLU({ alpha: 0.2 }));
  m.add(tf.layers.conv2dTranspose({ filters: 3, kernelSize: 4, strides: 2, padding: 'same', activation: 'sigmoid', kernelInitializer: init(1080) }));
  return m;
}

function captioner(): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.embedding({ inputDim: 12, outputDim: 6, inputLength: 7, embeddingsInitializer: init(1090) }));
  m.add(tf.layers.lstm({ units: 10, returnSequences: true, kernelInitializer: init(1100), recurrentInitializer: init(1101) }));
  m.add(tf.layers.lstm({ units: 8, kernelInitializer: init(1110), recurrentInitializer: init(1111) }));
  m.add(tf.layers.dense({ units: 12, kernelInitializer: init(1120) }));
  return m;
}

const rand = seeded(2024);
const tokens = Array.from({ length: 5 * 7 }, () => Math.floor(rand() * 12));
const tasks: Record<string, Task> = {
  'conv net (strides, batch norm, LeakyReLU, pooling, depthwise, bilinear upsampling)': {
    build: convNet,
    x: () => tf.tensor4d(randomValues([6, 6, 6, 3], seeded(1)), [6, 6, 6, 3]),
    y: () => tf.oneHot(tf.tensor1d([0, 1, 2, 3, 1, 0], 'int32'), 4),
    loss: (y, pred) => tf.losses.softmaxCrossEntropy(y, pred),
  },
  'transposed-conv generator (4x4 -> 32x32x3)': {
    build: generator,
    x: () => tf.tensor2d(randomValues([4, 12], seeded(2)), [4, 12]),
    y: () => tf.tensor4d(randomValues([4, 32, 32, 3], seeded(3)).map((v) => (v + 1) / 2), [4, 32, 32, 3]),
    loss: (y, pred) => tf.losses.meanSquaredError(y, pred),
  },
  'embedding + LSTM': {
    build: captioner,
    x: () => tf.tensor2d(tokens, [5, 7]),
    y: () => tf.oneHot(tf.tensor1d([3, 7, 1, 11, 0], 'int32'), 12),
    loss: (y, pred) => tf.losses.softmaxCrossEntropy(y, pred),
  },
};

interface Step {
  loss: number;
  grads: Float32Array[];
}

/** Loss and gradients of every trainable weight, at the given weights, on a backend. */
async function lossAndGrads(backend: string, model: tf.LayersModel, task: Task, weights: Float32Array[]): Promise<Step> {
  await tf.setBackend(backend);
  tf.tidy(() => model.setWeights(model.getWeights().map((w, i) => tf.tensor(weights[i] as Float32Array, w.shape))));
  return tf.tidy(() => {
    const x = task.x();
    const y = task.y();
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => task.loss(y, model.apply(x, { training: true }) as tf.Tensor), vars);
    return { loss: value.dataSync()[0] as number, grads: vars.map((v) => (grads[v.name] as tf.Tensor).dataSync() as Float32Array) };
  });
}

describe.each(backends)('training on %s', (backend) => {
  beforeAll(setupBackends);

  for (const [name, task] of Object.entries(tasks)) {
    it(`${name}: Adam steps, gradients equal to cpu`, async () => {
      await tf.setBackend(backend);
      const model = task.build();
      await tf.setBackend('cpu');
      const reference = task.build();
      await tf.setBackend(backend);
      const optimizer = tf.train.adam(0.01);
      const losses: number[] = [];
      for (let step = 0; step < 4; step++) {
        await tf.setBackend(backend);
        const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
        const trained = await lossAndGrads(backend, model, task, weights);
        const cpu = await lossAndGrads('cpu', reference, task, weights);
        expect(relativeError([trained.loss], [cpu.loss])).toBeLessThan(1e-4);
        trained.grads.forEach((g, i) => {
          const err = relativeError(g, cpu.grads[i] as Float32Array);
          expect(err, `step ${step}, ${model.trainableWeights[i]?.name}`).toBeLessThan(1e-4);
        });
        losses.push(trained.loss);
        await tf.setBackend(backend);
        tf.tidy(() => {
          const x = task.x();
          const y = task.y();
          optimizer.minimize(() => task.loss(y, model.apply(x, { training: true }) as tf.Tensor));
        });
      }
      expect(losses[losses.length - 1]).toBeLessThan(losses[0] as number);
      // A second round must not leave tensors behind.
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const x = task.x();
        const y = task.y();
        optimizer.minimize(() => task.loss(y, model.apply(x, { training: true }) as tf.Tensor));
      });
      expect(tf.memory().numTensors).toBe(before);
      optimizer.dispose();
      model.dispose();
      await tf.setBackend('cpu');
      reference.dispose();
      await tf.setBackend(backend);
    });
  }
});
