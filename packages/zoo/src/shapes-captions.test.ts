import { initBackend } from '@ppgn/backend';
import { shapes } from '@ppgn/data';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ATTRIBUTE_OUTPUTS,
  attributeLoss,
  attributeTargets,
  buildAttributeEvaluator,
  decodeAttributes,
  type PredictedObject,
  trainAttributeModel,
} from './shapes-attributes.js';
import { captionAgreement, formatShapesCaption, parseShapesCaption, relationBetween, scoreAttributePredictions } from './shapes-captions.js';

/** Outputs an attribute model would give if it were exactly right: targets with confident logits. */
function perfectOutputs(scenes: Parameters<typeof attributeTargets>[0]): tf.Tensor2D {
  const { targets } = attributeTargets(scenes, 32);
  const out = targets.map((v, j) => (j % 4 === 0 || j % 4 === 3 ? (v > 0.5 ? 12 : -12) : v));
  return tf.tensor2d(out, [scenes.length, ATTRIBUTE_OUTPUTS]);
}

const asPredicted = (o: { color: string; shape: string; size: string; x: number; y: number }) => ({ ...o, confidence: 1 }) as PredictedObject;

describe('shapes captions', () => {
  it('parses every caption of the data grammar and writes it back the same', () => {
    const data = shapes({ size: 400, seed: 5 });
    for (const [i, caption] of data.captions.entries()) {
      const parsed = parseShapesCaption(caption);
      const scene = data.scenes[i]!;
      expect(parsed.objects.map((o) => `${o.color} ${o.shape}`)).toEqual(scene.objects.map((o) => `${o.color} ${o.shape}`));
      expect(parsed.objects.map((o) => o.size)).toEqual(scene.objects.map((o) => (o.sizeSaid ? o.size : undefined)));
      expect(parsed.relation).toBe(scene.relation);
      expect(formatShapesCaption(parsed)).toBe(caption);
    }
    expect(parseShapesCaption('  A Red   Circle left of a SMALL blue square ')).toEqual({
      objects: [{ color: 'red', shape: 'circle' }, { color: 'blue', shape: 'square', size: 'small' }],
      relation: 'left of',
    });
  });

  it('refuses captions outside the grammar, naming the word and what was expected', () => {
    expect(() => parseShapesCaption('a red')).toThrow('expected a shape (circle, square, triangle) at word 3 but found the end of the caption');
    expect(() => parseShapesCaption('a purple circle')).toThrow("expected a colour (red, green, blue, yellow, white) or a size at word 2 but found 'purple'");
    expect(() => parseShapesCaption('a red circle near a blue square')).toThrow("expected a relation (above, below, left of, right of) or the end of the caption at word 4 but found 'near'");
    expect(() => parseShapesCaption('a red circle left a blue square')).toThrow("at word 4 but found 'left'");
    expect(() => parseShapesCaption('red circle')).toThrow("expected 'a' at word 1 but found 'red'");
    expect(() => parseShapesCaption('a red circle above a blue square above')).toThrow("expected the end of the caption at word 8 but found 'above'");
  });

  it('reads the relation of every two-object scene from the centres as the data placed them', () => {
    const data = shapes({ size: 600, seed: 9, objects: 2 });
    for (const scene of data.scenes) expect(relationBetween(scene.objects[0]!, scene.objects[1]!)).toBe(scene.relation);
  });

  it('the true objects of a scene agree with its caption; each wrong attribute is caught', () => {
    const data = shapes({ size: 300, seed: 3 });
    for (const [i, scene] of data.scenes.entries()) {
      const objects = scene.objects.map(asPredicted);
      const sameClass = objects.length === 2 && objects[0]!.color === objects[1]!.color && objects[0]!.shape === objects[1]!.shape;
      if (sameClass) continue;
      expect(captionAgreement(data.captions[i]!, objects).all, data.captions[i]).toBe(true);
    }
    const a = asPredicted({ color: 'red', shape: 'circle', size: 'small', x: 10, y: 5 });
    const b = asPredicted({ color: 'blue', shape: 'square', size: 'large', x: 12, y: 24 });
    const caption = 'a small red circle above a large blue square';
    expect(captionAgreement(caption, [a, b])).toEqual({ all: true, count: true, objects: true, size: true, relation: true });
    expect(captionAgreement(caption, [b, a]).all).toBe(true);
    expect(captionAgreement(caption, [a])).toMatchObject({ all: false, count: false, objects: false });
    expect(captionAgreement(caption, [a, { ...b, color: 'green' }])).toMatchObject({ all: false, objects: false });
    expect(captionAgreement(caption, [a, { ...b, size: 'small' }])).toMatchObject({ all: false, objects: true, size: false, relation: true });
    expect(captionAgreement(caption, [a, { ...b, y: 1 }])).toMatchObject({ all: false, size: true, relation: false });
    expect(captionAgreement(caption, [a, b, { ...b, color: 'white' }])).toMatchObject({ all: false, count: false, objects: true });
    expect(captionAgreement('a red circle', [a]).all).toBe(true);
    expect(captionAgreement('a large red circle', [a]).size).toBe(false);
  });
});

describe('shapes attribute model', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it('decodes exactly right outputs to the scene objects, with every attribute agreeing', () => {
    const data = shapes({ size: 200, seed: 4 });
    const outputs = perfectOutputs(data.scenes);
    const predicted = decodeAttributes(outputs, 32);
    const metrics = scoreAttributePredictions(data.scenes, predicted);
    // two objects of one colour and shape read as one object: the only misses
    const duplicates = data.scenes.filter((s) => s.objects.length === 2 && s.objects[0]!.color === s.objects[1]!.color && s.objects[0]!.shape === s.objects[1]!.shape).length;
    expect(metrics.objectSetAccuracy).toBe(1);
    expect(metrics.centreErrorPx).toBeLessThan(1e-4);
    expect(metrics.sizeAccuracy).toBe(1);
    expect(metrics.captionAgreement).toBeCloseTo(1 - duplicates / data.size, 6);
    const loss = attributeLoss(outputs, tf.tensor2d(attributeTargets(data.scenes, 32).targets, [200, ATTRIBUTE_OUTPUTS]), tf.tensor2d(attributeTargets(data.scenes, 32).masks, [200, ATTRIBUTE_OUTPUTS]));
    expect(loss.dataSync()[0]).toBeLessThan(1e-4);
    expect(() => decodeAttributes(tf.zeros([1, 59]) as tf.Tensor2D, 32)).toThrow('expected outputs of 60 values per image, got 59');
    // a background logit after the 60 attribute outputs changes nothing
    const withBackground = tf.concat([outputs, tf.ones([200, 1])], 1) as tf.Tensor2D;
    expect(decodeAttributes(withBackground, 32)).toEqual(predicted);
    tf.dispose([outputs, loss, withBackground]);
  });

  it('masks centre and size losses of absent classes: moving them changes nothing', () => {
    const data = shapes({ size: 8, seed: 6 });
    const { targets, masks } = attributeTargets(data.scenes, 32);
    const t = tf.tensor2d(targets, [8, ATTRIBUTE_OUTPUTS]);
    const m = tf.tensor2d(masks, [8, ATTRIBUTE_OUTPUTS]);
    const out = perfectOutputs(data.scenes);
    const absentNoise = tf.mul(tf.sub(1, m), tf.randomNormal([8, ATTRIBUTE_OUTPUTS], 0, 3, 'float32', 1));
    const moved = tf.add(out, absentNoise) as tf.Tensor2D;
    const [l0, l1] = [attributeLoss(out, t, m), attributeLoss(moved, t, m)];
    expect(Math.abs(l1.dataSync()[0]! - l0.dataSync()[0]!)).toBeLessThan(1e-5);
    const wrongCentre = tf.add(out, tf.mul(m, tf.tensor1d(Array.from({ length: ATTRIBUTE_OUTPUTS }, (_, j) => (j % 4 === 1 ? 0.5 : 0))))) as tf.Tensor2D;
    const l2 = attributeLoss(wrongCentre, t, m);
    expect(l2.dataSync()[0]! - l0.dataSync()[0]!).toBeGreaterThan(1);
    tf.dispose([t, m, out, absentNoise, moved, l0, l1, wrongCentre, l2]);
  });

  it('a few training steps lower the loss of a small attribute model, leaking no tensors', async () => {
    const train = shapes({ size: 64, seed: 8 });
    const { targets, masks } = attributeTargets(train.scenes, 32);
    // the loss on a fixed batch of the training images, before and after training
    const fixedLoss = (model: tf.LayersModel) =>
      tf.tidy(() => {
        const out = model.predict(train.images({ start: 0, end: 32 })) as tf.Tensor2D;
        const attributes = tf.slice(out, [0, 0], [-1, ATTRIBUTE_OUTPUTS]) as tf.Tensor2D;
        const t = tf.tensor2d(targets.subarray(0, 32 * ATTRIBUTE_OUTPUTS), [32, ATTRIBUTE_OUTPUTS]);
        const m = tf.tensor2d(masks.subarray(0, 32 * ATTRIBUTE_OUTPUTS), [32, ATTRIBUTE_OUTPUTS]);
        return attributeLoss(attributes, t, m).dataSync()[0]!;
      });
    const model = buildAttributeEvaluator([32, 32, 3], 3);
    // with the background logit (the scene encoder's layout) too
    const withBackground = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [32, 32, 3] }), tf.layers.dense({ units: 61 })] });
    const before = tf.memory().numTensors;
    for (const m of [model, withBackground]) {
      const start = fixedLoss(m);
      const result = await trainAttributeModel({ model: m, train, steps: 12, batchSize: 32, seed: 2, optimizer: { learningRate: 3e-4 } });
      expect(result.history.every((h) => Number.isFinite(h.loss))).toBe(true);
      expect(fixedLoss(m)).toBeLessThan(start);
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    withBackground.dispose();
    const wrong = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [32, 32, 3] }), tf.layers.dense({ units: 15 })] });
    await expect(trainAttributeModel({ model: wrong, train, steps: 1 })).rejects.toThrow('the model must have 60 outputs (or 61 with the background), it has 15');
    wrong.dispose();
  });
});
