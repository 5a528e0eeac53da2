import { initBackend } from '@ppgn/backend';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadZoo, type ZooEntry } from './load.js';
import { shapesScenes } from './recipes/shapes.js';
import { captionVariantParts, evaluateCaption, sampleCaption } from './sample-caption.js';
import { predictObjects } from './shapes-attributes.js';
import { scoreAttributePredictions } from './shapes-captions.js';

describe('the shipped shapes caption parts', () => {
  let zoo: ZooEntry;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    zoo = await loadZoo('shapes');
  });
  afterAll(() => zoo?.dispose());

  it('loads the captioner, scene encoder, scene generator, its joint version, its h-DAE and the attribute evaluator, with their cards', () => {
    const parts = zoo.captions!;
    expect(parts).toBeDefined();
    expect(parts.generator.imageShape).toEqual([32, 32, 3]);
    expect(parts.sceneEncoder.codeShape).toEqual(parts.generator.latentShape);
    expect(parts.hDae).toBeDefined();
    expect(parts.attributeEvaluator).toBeDefined();
    expect(parts.jointGenerator?.latentShape).toEqual(parts.generator.latentShape);
    for (const part of ['scene-encoder', 'attribute-evaluator', 'generator-scenes', 'generator-scenes-joint', 'h-dae-scenes']) {
      expect(zoo.card.parts[part]?.trainSeconds, part).toBeGreaterThan(0);
    }
  });

  it('the attribute evaluator agrees with the true captions of held-out scenes about as its card says', async () => {
    const { test } = await shapesScenes();
    const images = test.images({ start: 0, end: 400 });
    const metrics = scoreAttributePredictions(test.scenes.slice(0, 400), predictObjects(zoo.captions!.attributeEvaluator!, images));
    images.dispose();
    const card = zoo.card.parts['attribute-evaluator']!.metrics;
    expect(metrics.captionAgreement).toBeGreaterThan(0.8);
    expect(Math.abs(metrics.captionAgreement - (card.captionAgreement as number))).toBeLessThan(0.05);
    expect(metrics.centreErrorPx).toBeLessThan(2);
  });

  it('the caption steers: chains end more likely under the caption than the same chains without it, leaking no tensors', async () => {
    const caption = 'a red circle above a blue square';
    const before = tf.memory().numTensors;
    const settings = { steps: 20, saveEvery: 20, lr: 0.3, lrSchedule: 'constant' as const };
    const result = await sampleCaption(zoo, { caption, n: 3, seed: 3, settings });
    expect(result.images.shape).toEqual([3, 32, 32, 3]);
    const baseline = await sampleCaption(zoo, { caption, n: 3, seed: 3, conditioned: false, settings });
    expect(baseline.logProb).toBeNull();
    const condition = zoo.captions!.condition(caption);
    const unsteered = tf.tidy(() => condition.logProb(baseline.images).arraySync());
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    expect(mean(result.logProb!)).toBeGreaterThan(mean(unsteered));
    const evaluation = evaluateCaption(zoo, caption, result.images);
    expect(evaluation.perImage).toHaveLength(3);
    expect(evaluation.caption).toBe(caption);
    result.dispose();
    baseline.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('restarts keep, per sample, the chain most likely under the caption; scene starts are reproducible', async () => {
    const caption = 'a green triangle left of a yellow circle';
    const before = tf.memory().numTensors;
    const settings = { steps: 4, saveEvery: 2, lr: 0.03, lrSchedule: 'constant' as const };
    // With scene starts, chain i of a batch of n starts from the same scene in a batch of 2n,
    // so the best of two chains is never less likely than the single chain.
    const single = await sampleCaption(zoo, { caption, n: 2, seed: 5, start: 'scenes', restarts: 1, settings });
    const best = await sampleCaption(zoo, { caption, n: 2, seed: 5, start: 'scenes', restarts: 2, settings });
    expect(best.images.shape).toEqual([2, 32, 32, 3]);
    expect(best.h.shape).toEqual([2, 256]);
    expect(best.frames.map((f) => f.shape[0])).toEqual([2, 2, 2]);
    for (let i = 0; i < 2; i++) expect(best.logProb![i]!).toBeGreaterThanOrEqual(single.logProb![i]! - 1e-3);
    // The reported log-probabilities are those of the kept images.
    const condition = zoo.captions!.condition(caption);
    const recomputed = tf.tidy(() => condition.logProb(best.images).arraySync());
    for (const [i, v] of recomputed.entries()) expect(v).toBeCloseTo(best.logProb![i]!, 3);
    // The kept frame at the end is the kept image.
    const last = best.frames.at(-1)!.images;
    const image0 = best.images.slice([0], [1]);
    expect(Array.from(last.subarray(0, 20))).toEqual(Array.from(image0.dataSync().subarray(0, 20)));
    image0.dispose();
    single.dispose();
    best.dispose();
    expect(tf.memory().numTensors).toBe(before);
    await expect(sampleCaption(zoo, { caption, n: 1, seed: 1, restarts: 0 })).rejects.toThrow('restarts must be a positive integer, got 0');
    await expect(sampleCaption(zoo, { caption, n: 1, seed: 1, start: 'data' as 'scenes' })).rejects.toThrow("start must be one of noise, scenes, got 'data'");
  });

  it('joint caption variants run the joint scene G with the prior E(G(h)) - h; an entry without that part fails naming it', async () => {
    const caption = 'a red triangle';
    const before = tf.memory().numTensors;
    const { generator, prior } = captionVariantParts(zoo, 'joint-ppgn-h');
    expect(generator.id).toBe('shapes/generator-scenes-joint');
    expect(prior!.describe()).toContain('joint prior');
    prior!.dispose();
    const result = await sampleCaption(zoo, { caption, n: 2, seed: 3, variant: 'noiseless-joint-ppgn-h', settings: { steps: 3, saveEvery: 3 } });
    expect(result.settings).toMatchObject({ variant: 'noiseless-joint-ppgn-h', eps3: 0, lr: 0.5, clip: [0, 10] });
    // The images are the joint G's picture of the final codes, not the plain scene G's.
    const [jointGap, plainGap] = tf.tidy(() =>
      [generator, zoo.captions!.generator].map((g) => tf.max(tf.abs(tf.sub(g.generate(result.h), result.images))).dataSync()[0]!),
    );
    expect(jointGap).toBeLessThan(1e-4);
    expect(plainGap).toBeGreaterThan(0.05);
    result.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const older: ZooEntry = { ...zoo, captions: { ...zoo.captions!, jointGenerator: undefined } };
    await expect(sampleCaption(older, { caption, n: 1, seed: 1, variant: 'joint-ppgn-h' })).rejects.toThrow(
      "zoo 'shapes': caption sampling with joint-ppgn-h needs the 'generator-scenes-joint' part, which is not trained; run 'ppgn train shapes --stage generator-scenes-joint'",
    );
  });

  it('refuses unknown words, captions off the grammar, pixel-prior variants and entries without captions', async () => {
    await expect(sampleCaption(zoo, { caption: 'a red cirle', n: 1, seed: 1 })).rejects.toThrow(/cirle.*circle/s);
    expect(() => evaluateCaption(zoo, 'a red', tf.zeros([1, 32, 32, 3]) as tf.Tensor4D)).toThrow('expected a shape');
    await expect(sampleCaption(zoo, { caption: 'a red circle', n: 1, seed: 1, variant: 'ppgn-x' as 'ppgn-h' })).rejects.toThrow(
      "variant must be one of ppgn-h, dgn-am, joint-ppgn-h, noiseless-joint-ppgn-h, got 'ppgn-x'",
    );
    const mnist = await loadZoo('mnist');
    await expect(sampleCaption(mnist, { caption: 'a red circle', n: 1, seed: 1 })).rejects.toThrow("zoo 'mnist' cannot sample captions");
    mnist.dispose();
  });
});
