import { Rng } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { encoderAt } from './encoder-at.js';
import { inputAdapter } from './input-adapter.js';
import { layerModel } from './model-input.js';
import { BACKENDS, convClassifier, maxDiff, useBackend } from './test-helpers.js';

for (const backend of BACKENDS) {
  describe(`encoderAt on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    it('returns the flattened activations of a conv layer, sharing the weights', () => {
      expect(tf.getBackend()).toBe(backend);
      const model = convClassifier([8, 8, 1], 5, 1);
      const encoder = encoderAt(model, 'conv');
      expect(encoder.imageShape).toEqual([8, 8, 1]);
      expect(encoder.codeShape).toEqual([6 * 6 * 4]);
      expect(encoder.id).toBe('encoder(conv_classifier/conv)');
      const x = new Rng(2).uniformTensor([3, 8, 8, 1]) as tf.Tensor4D;
      const h = encoder.encode(x);
      expect(h.shape).toEqual([3, 144]);
      const conv = model.getLayer('conv');
      const [kernel, bias] = conv.getWeights();
      const reference = tf.tidy(() => tf.reshape(tf.relu(tf.add(tf.conv2d(x, kernel as tf.Tensor4D, 1, 'valid'), bias!)), [3, 144]));
      expect(maxDiff(h.dataSync(), reference.dataSync())).toBeLessThan(1e-5);
      tf.dispose([x, h, reference]);
    });

    it('reads a dense layer through an adapter, with a gradient, leaking nothing', () => {
      const model = convClassifier([28, 28, 1], 10, 3, 'layer');
      const adapter = inputAdapter({ from: [32, 32, 3], to: [28, 28, 1] });
      const encoder = encoderAt(model, 'logits', { input: adapter });
      expect(encoder.imageShape).toEqual([32, 32, 3]);
      expect(encoder.codeShape).toEqual([10]);
      expect(encoder.describe()).toContain('through 32x32x3 -> 28x28x1');
      const x = new Rng(4).uniformTensor([2, 32, 32, 3]) as tf.Tensor4D;
      const h = encoder.encode(x);
      const sub = layerModel(model, 'logits');
      const reference = tf.tidy(() => sub.predict(adapter.adapt(x)) as tf.Tensor);
      expect(maxDiff(h.dataSync(), reference.dataSync())).toBeLessThan(1e-5);
      const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.square(encoder.encode(xx as tf.Tensor4D))))(x);
      expect(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]!)).toBeGreaterThan(0);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) {
        tf.dispose(encoder.encode(x));
        tf.dispose(tf.grad((xx: tf.Tensor) => tf.sum(encoder.encode(xx as tf.Tensor4D)))(x));
      }
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, h, reference, g]);
    });
  });
}

describe('encoderAt errors', () => {
  it('lists the layer names for an unknown layer', () => {
    const model = convClassifier([8, 8, 1], 5, 1);
    expect(() => encoderAt(model, 'fc6')).toThrow(
      "encoderAt: no layer named 'fc6'; the model's layers are 'conv', 'pool', 'flatten', 'probs'",
    );
  });

  it('checks image shapes like classCondition', () => {
    const model = convClassifier([8, 8, 1], 5, 1);
    expect(() => encoderAt(model, 'conv', { imageShape: [16, 16, 3] })).toThrow(
      'encoderAt: model expects 8x8x1 images, encoder was asked to accept 16x16x3; pass input: inputAdapter({ from: [16, 16, 3], to: [8, 8, 1] })',
    );
  });
});
