import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ppgn/backend';
import { describeGeneratorContract } from '@ppgn/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDiscriminator, buildGenerator, generatorStages } from './builders.js';
import { dgnGenerator } from './dgn-generator.js';

await initBackend({ backend: 'wasm', verbose: false });

const SIZES = [
  { latentSize: 16, imageShape: [28, 28, 1] as [number, number, number], baseChannels: 16 },
  { latentSize: 12, imageShape: [32, 32, 3] as [number, number, number], baseChannels: 16 },
  { latentSize: 8, imageShape: [64, 64, 3] as [number, number, number], baseChannels: 16, minChannels: 4 },
];

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`on ${backend}`, () => {
    beforeAll(async () => {
      await tf.setBackend(backend);
    });
    for (const args of SIZES) {
      describeGeneratorContract(`dgnGenerator ${args.imageShape.join('x')} (${backend})`, () =>
        dgnGenerator(buildGenerator({ ...args, seed: 1 }), { id: `test/${args.imageShape.join('x')}` }),
      );
    }
    describeGeneratorContract(`dgnGenerator with batch norm and fc layers (${backend})`, () =>
      dgnGenerator(buildGenerator({ latentSize: 10, imageShape: [28, 28, 1], baseChannels: 8, fcUnits: [24], batchNorm: true, seed: 2 })),
    );
  });
}

describe('buildGenerator', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('computes the up-sampling stages from the image side', () => {
    expect(generatorStages(28)).toEqual({ start: 7, stages: 2 });
    expect(generatorStages(32)).toEqual({ start: 4, stages: 3 });
    expect(generatorStages(256)).toEqual({ start: 4, stages: 6 });
    const g = buildGenerator({ latentSize: 8, imageShape: [64, 64, 3], baseChannels: 64, minChannels: 8 });
    const ups = g.layers.filter((l) => l.getClassName() === 'Conv2DTranspose');
    expect(ups.map((l) => (l.outputShape as number[]).slice(1))).toEqual([
      [8, 8, 32],
      [16, 16, 16],
      [32, 32, 8],
      [64, 64, 8],
    ]);
    // interleaved k3 s1 convolutions, one per stage, plus the output convolution
    expect(g.layers.filter((l) => l.getClassName() === 'Conv2D')).toHaveLength(5);
    expect(g.outputs[0]!.shape).toEqual([null, 64, 64, 3]);
    g.dispose();
  });

  it('names the allowed sizes for an unsupported side, and refuses bad shapes', () => {
    expect(() => buildGenerator({ latentSize: 8, imageShape: [30, 30, 1] })).toThrow(
      'buildGenerator: image side 30 is not supported; allowed sides are 28, 32, 64, 128, 256',
    );
    expect(() => buildGenerator({ latentSize: 8, imageShape: [32, 64, 3] })).toThrow(/must be square, got 32x64/);
    expect(() => buildGenerator({ latentSize: 8, imageShape: [32, 32, 2] })).toThrow(/1 or 3 channels, got 2/);
    expect(() => buildGenerator({ latentSize: 0, imageShape: [32, 32, 3] })).toThrow(/latentSize must be a positive integer/);
    expect(() => buildDiscriminator({ imageShape: [48, 48, 3] })).toThrow(/buildDiscriminator: image side 48 is not supported/);
  });

  it('gives the same weights for the same seed, and different ones for another', () => {
    const args = { latentSize: 8, imageShape: [28, 28, 1] as [number, number, number], baseChannels: 8 };
    const [a, b, c] = [buildGenerator({ ...args, seed: 5 }), buildGenerator({ ...args, seed: 5 }), buildGenerator({ ...args, seed: 6 })];
    const flat = (m: tf.LayersModel) => m.getWeights().flatMap((w) => Array.from(w.dataSync()));
    expect(flat(a)).toEqual(flat(b));
    expect(flat(a)).not.toEqual(flat(c));
    tf.dispose([a, b, c].flatMap((m) => m.getWeights()));
  });

  it('builds a discriminator that gives one logit per image', () => {
    const d = buildDiscriminator({ imageShape: [32, 32, 3], channels: [8, 16], seed: 1 });
    const y = d.apply(tf.ones([3, 32, 32, 3])) as tf.Tensor;
    expect(y.shape).toEqual([3, 1]);
    expect(d.layers.filter((l) => l.getClassName() === 'Conv2D')).toHaveLength(2);
    expect(() => buildDiscriminator({ imageShape: [28, 28, 1], channels: [8, 8, 8] })).toThrow(/give at most 2 channel counts/);
    y.dispose();
  });
});

describe('dgnGenerator', () => {
  it('validates the model and the codes it is given', () => {
    const notImages = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3 })] });
    expect(() => dgnGenerator(notImages, { id: 'flat' })).toThrow(
      'dgnGenerator(flat): the model output must be images [batch, height, width, channels], got [batch, 3]',
    );
    const twoChannels = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [4], units: 8 }), tf.layers.reshape({ targetShape: [2, 2, 2] })],
    });
    expect(() => dgnGenerator(twoChannels, { id: 'two' })).toThrow(/images must have 1 or 3 channels, the model outputs 2/);
    const g = dgnGenerator(buildGenerator({ latentSize: 8, imageShape: [28, 28, 1], baseChannels: 8 }), { id: 'g' });
    const h = tf.zeros([2, 5]);
    expect(() => g.generate(h)).toThrow('g: expected h of shape [batch, 8], got [2, 5]');
    expect(g.describe()).toMatch(/^DGN generator 8-d h -> 28x28x1 images/);
    g.dispose();
    g.dispose(); // safe twice
    expect(() => g.generate(tf.zeros([1, 8]))).toThrow(/after dispose/);
    h.dispose();
  });
});
