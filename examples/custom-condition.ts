/**
 * Compose a custom condition from your own tfjs model and sample images for it.
 *
 *   pnpm build && pnpm --filter @ppgn/examples custom-condition
 *
 * Any tf.LayersModel that maps images to class logits becomes a Condition in a dozen
 * lines: wrap it as { id, describe, logProb, dispose }. Here the model and the generator are
 * small random networks built inline, so the script runs anywhere; swap in
 * `await tf.loadLayersModel('file://path/model.json')` and a trained generator for real use.
 * Writes out/custom-condition.png (a grid of 8 chains, labelled with p(class | x)).
 */
import { mkdir } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ppgn/backend';
import { type Condition, type Generator, createProgress, writeGrid } from '@ppgn/core';
import { sample } from '@ppgn/sampler';

const backend = await initBackend();
const imageShape: [number, number, number] = [32, 32, 3];

// A stand-in generator G: 64-d code -> 32x32x3 image in [0, 1].
const g = tf.sequential({
  layers: [
    tf.layers.dense({ inputShape: [64], units: 256, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 1 }) }),
    tf.layers.dense({ units: 32 * 32 * 3, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }) }),
    tf.layers.reshape({ targetShape: imageShape }),
  ],
});
const generator: Generator = {
  id: 'random/generator',
  latentShape: [64],
  imageShape,
  describe: () => 'a random 64 -> 32x32x3 MLP generator',
  generate: (h) => g.apply(h) as tf.Tensor4D,
  dispose: () => g.dispose(),
};

// Your model: any tf.LayersModel from images to logits.
const model = tf.sequential({
  layers: [
    tf.layers.conv2d({ inputShape: imageShape, filters: 8, kernelSize: 3, strides: 2, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed: 3 }) }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotNormal({ seed: 4 }) }),
  ],
});

// ---- the custom condition: log p(class | x) under your model -------------------------------
const wanted = 3;
const condition: Condition = {
  id: `my-model(${wanted})`,
  imageShape,
  describe: () => `class ${wanted} of my classifier`,
  logProb: (x) =>
    tf.tidy(() => {
      const logProbs = tf.logSoftmax(model.apply(x) as tf.Tensor2D);
      return tf.reshape(tf.slice(logProbs, [0, wanted], [-1, 1]), [-1]) as tf.Tensor1D;
    }),
  dispose: () => model.dispose(),
};
// ---------------------------------------------------------------------------------------------

const steps = 100;
const progress = createProgress(`sampling (${backend})`, steps);
const result = await sample({
  generator,
  condition,
  batch: 8,
  seed: 1,
  steps,
  lr: 0.1, // mean move of h per dimension per step
  eps3: 0.01,
  onStep: ({ step, trace }) => progress.update(step + 1, `mean log p ${mean(trace.logProb!).toFixed(3)}`),
});
progress.finish();

const start = result.trace[0]!.logProb!;
const end = result.logProb!;
console.log(`p(class ${wanted} | x): start ${fmt(start.map(Math.exp))}`);
console.log(`                    end   ${fmt(end.map(Math.exp))}`);

await mkdir('out', { recursive: true });
await writeGrid('out/custom-condition.png', result.images, { columns: 4, scale: 3, labels: end.map((lp) => `p=${Math.exp(lp).toFixed(2)}`) });
console.log('wrote out/custom-condition.png');

result.dispose();
condition.dispose();
generator.dispose();

function mean(v: number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

function fmt(v: number[]): string {
  return v.map((p) => p.toFixed(2)).join(' ');
}
