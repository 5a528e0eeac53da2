import { encoderAt } from '@ppgn/condition-classifier';
import { type Generator, Rng } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { facetStarts, kMeans } from './facet-starts.js';
import { layerActivations } from './layer-activations.js';
import { maxDiff, smallNet, useBackend } from './test-helpers.js';

const SHAPE: [number, number, number] = [10, 10, 3];

/** A seeded dense generator: 8-d codes -> 10x10x3 images in (0, 1). */
function tinyGenerator(seed: number): Generator {
  const m = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [8], units: 300, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotNormal({ seed }) }),
      tf.layers.reshape({ targetShape: SHAPE }),
    ],
  });
  return {
    id: 'tiny-generator',
    latentShape: [8],
    imageShape: SHAPE,
    describe: () => 'dense 8 -> 10x10x3',
    generate: (h) => m.apply(h) as tf.Tensor4D,
    dispose: () => m.dispose(),
  };
}

describe('facetStarts', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('starts every facet where the unit fires on G(start), from clusters of the most exciting images', () => {
    const model = smallNet(SHAPE, 11);
    const encoder = encoderAt(model, 'fc_relu');
    const generator = tinyGenerator(12);
    const images = new Rng(13).uniformTensor([60, ...SHAPE]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    for (const args of [
      { layer: 'conv2', unit: 1, rendersFiring: false },
      { layer: 'conv2', unit: 3, rendersFiring: true },
      { layer: 'conv1', unit: 4, position: [2, 6] as [number, number], rendersFiring: true },
      { layer: 'fc_relu', unit: 3, rendersFiring: true },
    ]) {
      const starts = facetStarts({ model, ...args, images, encoder, generator, facets: 4, pool: 20 });
      expect(starts.codes.shape).toEqual([4, 8]);
      // The reported start activations are the unit's on G(codes), and all positive.
      const x = generator.generate(starts.codes);
      const measured = layerActivations(model, args.layer, x, { unit: args.unit, position: args.position });
      expect(maxDiff(measured.dataSync(), starts.startActivations)).toBeLessThan(1e-4);
      // Whenever G renders some image of the pool with the unit firing, every start fires.
      const rendered = tf.tidy(() => {
        const pool = tf.gather(images, starts.clusters.flat()) as tf.Tensor4D;
        const a = layerActivations(model, args.layer, generator.generate(encoder.encode(pool)), { unit: args.unit, position: args.position });
        return Math.max(...a.dataSync());
      });
      expect(rendered > 0).toBe(args.rendersFiring);
      for (const a of starts.startActivations) expect(a > 0).toBe(args.rendersFiring);
      // The clusters split the firing part of the pool, each most exciting first.
      const all = tf.tidy(() => layerActivations(model, args.layer, images, { unit: args.unit, position: args.position }).arraySync() as number[]);
      const firing = starts.topIndices.filter((i) => all[i]! > 0);
      expect(starts.clusters.flat().sort((a, b) => a - b)).toEqual([...firing].sort((a, b) => a - b));
      expect(starts.topActivations[0]).toBeCloseTo(Math.max(...all), 5);
      tf.dispose([starts.codes, x, measured]);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([images]);
    generator.dispose();
  });

  it("without a generator each start is the mean code of its cluster's images", () => {
    const model = smallNet(SHAPE, 21);
    const encoder = encoderAt(model, 'fc_relu');
    const images = new Rng(22).uniformTensor([30, ...SHAPE]) as tf.Tensor4D;
    const starts = facetStarts({ model, layer: 'conv2', unit: 0, images, encoder, facets: 3, pool: 12, seed: 5 });
    const codes = starts.codes.arraySync();
    starts.clusters.forEach((cluster, f) => {
      const own = tf.tidy(() => tf.mean(encoder.encode(tf.gather(images, cluster) as tf.Tensor4D), 0).arraySync() as number[]);
      expect(maxDiff(codes[f]!, own)).toBeLessThan(1e-4);
    });
    // Different clusters, different starts.
    expect(maxDiff(codes[0]!, codes[1]!)).toBeGreaterThan(1e-3);
    starts.codes.dispose();
    images.dispose();
  });

  it('gives more facets than firing images by reusing clusters', () => {
    const model = smallNet(SHAPE, 31);
    const encoder = encoderAt(model, 'fc_relu');
    const images = new Rng(32).uniformTensor([3, ...SHAPE]) as tf.Tensor4D;
    const starts = facetStarts({ model, layer: 'fc', unit: 2, images, encoder, facets: 5 });
    expect(starts.codes.shape).toEqual([5, 8]);
    expect(starts.clusters).toHaveLength(5);
    starts.codes.dispose();
    images.dispose();
  });

  it('names the problem: a silent unit, mismatched parts, a bad facet count', () => {
    const silent = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: SHAPE }),
        tf.layers.dense({ units: 2, activation: 'relu', kernelInitializer: 'zeros', biasInitializer: tf.initializers.constant({ value: -1 }), name: 'dead' }),
      ],
    });
    const model = smallNet(SHAPE, 41);
    const encoder = encoderAt(model, 'fc_relu');
    const images = new Rng(42).uniformTensor([4, ...SHAPE]) as tf.Tensor4D;
    expect(() => facetStarts({ model: silent, layer: 'dead', unit: 1, images, encoder, facets: 2 })).toThrow(
      "facetStarts: unit 1 of layer 'dead' never fires on the 4 images given (top activation 0); start from random codes instead",
    );
    expect(() => facetStarts({ model, layer: 'fc', unit: 9, images, encoder, facets: 2 })).toThrow(
      "facetStarts: unit 9 is out of range; layer 'fc' has 8 units, 0..7",
    );
    expect(() => facetStarts({ model, layer: 'conv7', unit: 0, images, encoder, facets: 2 })).toThrow(/no layer named 'conv7'/);
    expect(() => facetStarts({ model, layer: 'fc', unit: 0, images, encoder, facets: 0 })).toThrow('facetStarts: facets must be a positive integer, got 0');
    const small = tf.zeros([2, 6, 6, 3]) as tf.Tensor4D;
    expect(() => facetStarts({ model, layer: 'fc', unit: 0, images: small, encoder, facets: 2 })).toThrow(
      'facetStarts: images are 6x6x3 but encoder encoder(small_net/fc_relu) accepts 10x10x3',
    );
    const wide: Generator = { ...tinyGenerator(1), latentShape: [16] };
    expect(() => facetStarts({ model, layer: 'fc', unit: 0, images, encoder, generator: wide, facets: 2 })).toThrow(
      'facetStarts: encoder encoder(small_net/fc_relu) makes codes of shape 8 but generator tiny-generator takes 16',
    );
    tf.dispose([images, small]);
    silent.dispose();
  });
});

describe('kMeans', () => {
  it('separates well-apart groups, leaves no cluster empty and repeats with the seed', () => {
    const rng = new Rng(7);
    const centres = [
      [0, 0],
      [10, 0],
      [0, 10],
    ];
    const points = new Float32Array(60 * 2);
    for (let i = 0; i < 60; i++) {
      const c = centres[i % 3]!;
      points[2 * i] = c[0]! + rng.normal() * 0.5;
      points[2 * i + 1] = c[1]! + rng.normal() * 0.5;
    }
    const a = kMeans(points, 60, 2, 3, new Rng(1));
    for (let i = 3; i < 60; i++) expect(a[i]).toBe(a[i % 3]);
    expect(new Set(a.slice(0, 3)).size).toBe(3);
    expect(kMeans(points, 60, 2, 3, new Rng(1))).toEqual(a);
    // Identical points: k clusters all the same, none empty.
    const same = kMeans(new Float32Array(8).fill(1), 4, 2, 4, new Rng(2));
    expect(new Set(same).size).toBe(4);
    expect(() => kMeans(points, 60, 2, 61, new Rng(1))).toThrow('kMeans: k must be in 1..60, got 61');
  });
});
