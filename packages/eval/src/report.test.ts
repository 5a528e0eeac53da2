import { Rng } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createEvaluator } from './evaluator.js';
import { createSampleEvaluation, neighbourSheetCells } from './report.js';

function tinyClassifier(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.flatten({ inputShape: [6, 6, 1] }));
  model.add(tf.layers.dense({ units: 8, activation: 'relu', name: 'features', kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }) }));
  model.add(tf.layers.dense({ units: 3, activation: 'softmax', name: 'probs', kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }) }));
  return model;
}

describe('sample evaluation', () => {
  const rng = new Rng(4);
  const train = rng.uniformTensor([60, 6, 6, 1]) as tf.Tensor4D;
  const test = rng.uniformTensor([40, 6, 6, 1]) as tf.Tensor4D;
  const labels = Array.from({ length: 40 }, (_, i) => i % 3);

  it('scores images and the real baseline with every metric finite', () => {
    const evaluator = createEvaluator({ model: tinyClassifier(), featureLayer: 'features', classNames: ['a', 'b', 'c'] });
    const evaluation = createSampleEvaluation({ evaluator, test: { images: test, labels }, train });
    const before = tf.memory().numTensors;
    const real = evaluation.realBaseline();
    const copies = tf.slice(train, [0, 0, 0, 0], [12, -1, -1, -1]) as tf.Tensor4D;
    const copied = evaluation.evaluate(copies, Array.from({ length: 12 }, (_, i) => i % 3));
    copies.dispose();
    expect(tf.memory().numTensors).toBe(before);
    for (const m of [real, copied]) {
      for (const [key, value] of Object.entries(m)) expect(Number.isFinite(value), key).toBe(true);
      expect(m.accuracy).toBeGreaterThanOrEqual(0);
      expect(m.inceptionScore).toBeGreaterThanOrEqual(1);
    }
    // Copies of training images sit at distance 0 from the training set; real test images do not.
    expect(copied.nearestTrainPixel).toBe(0);
    expect(copied.nearestTrainFeature).toBe(0);
    expect(real.nearestTrainPixel).toBeGreaterThan(0.5);
    expect(real.count).toBe(20);
  });

  it('builds nearest-neighbour sheet cells: each image then its neighbours', () => {
    const evaluator = createEvaluator({ model: tinyClassifier(), featureLayer: 'features' });
    const evaluation = createSampleEvaluation({ evaluator, test: { images: test, labels }, train });
    const queries = tf.slice(train, [5, 0, 0, 0], [2, -1, -1, -1]) as tf.Tensor4D;
    const nn = evaluation.neighbours(queries, 3);
    expect(nn.pixel[0]![0]).toBe(5);
    expect(nn.pixel[1]![0]).toBe(6);
    const cells = neighbourSheetCells(queries, train, nn.pixel);
    expect(cells.shape).toEqual([8, 6, 6, 1]);
    const first = tf.sub(tf.slice(cells, [0, 0, 0, 0], [1, -1, -1, -1]), tf.slice(cells, [1, 0, 0, 0], [1, -1, -1, -1]));
    expect(tf.max(tf.abs(first)).dataSync()[0]).toBe(0);
    tf.dispose([queries, cells, first]);
  });

  it('names the layers when the feature layer is unknown', () => {
    expect(() => createEvaluator({ model: tinyClassifier(), featureLayer: 'fc9' })).toThrow(/no layer 'fc9'; layers are .*features/);
  });
});
