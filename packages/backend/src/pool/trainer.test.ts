/**
 * Data-parallel trainer tests. Workers run dist/pool-worker.js; `ensurePoolWorkerBuilt` rebuilds
 * that file when it is older than its sources (or run `pnpm --filter @ppgn/backend build` first).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../init.js';
import { batchLoss, resolveLoss } from './losses.js';
import type { LossSpec } from './protocol.js';
import { shardSizes, usesBatchStatistics } from './trainer.js';
import { ensurePoolWorkerBuilt, fixture } from './test-support.js';
import { createWorkerPool, type WorkerPool } from './worker-pool.js';

function convNet(seed: number, classes: number, activation: 'softmax' | 'sigmoid' | 'linear'): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [6, 6, 2],
        filters: 4,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotNormal({ seed }),
        biasInitializer: tf.initializers.randomNormal({ seed: seed + 1, stddev: 0.1 }),
      }),
      tf.layers.flatten(),
      tf.layers.dense({
        units: classes,
        activation,
        kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 2 }),
        kernelRegularizer: tf.regularizers.l2({ l2: 0.01 }),
      }),
    ],
  });
}

function maxRelError(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => {
    const scale = tf.max(tf.abs(b)).dataSync()[0]!;
    return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! / Math.max(scale, 1e-12);
  });
}

/**
 * Three steps of `spec` on the pool against the same steps of `reference` on this thread, on
 * twin conv nets: the largest relative weight difference after them.
 */
async function stepsAgainstReference(
  on: WorkerPool,
  spec: Parameters<WorkerPool['trainer']>[0]['optimizer'],
  reference: tf.Optimizer,
): Promise<{ error: number; moved: number; iterations: number | undefined }> {
  const pooled = convNet(30, 3, 'softmax');
  const single = convNet(30, 3, 'softmax');
  const xs = tf.randomNormal([10, 6, 6, 2], 0, 1, 'float32', 31);
  const ys = tf.randomUniform([10], 0, 3, 'int32', 32);
  const start = pooled.getWeights().map((w) => w.dataSync().slice());
  const loss = await resolveLoss('sparseCategoricalCrossentropy');
  const trainer = on.trainer({ model: pooled, loss: 'sparseCategoricalCrossentropy', optimizer: spec });
  for (let i = 0; i < 3; i++) {
    await trainer.step(xs, ys);
    reference.minimize(() => batchLoss(single, loss, xs, ys), false, single.trainableWeights.map((w) => w.read() as tf.Variable));
  }
  let error = 0;
  let moved = 0;
  pooled.getWeights().forEach((w, k) => {
    const ref = single.getWeights()[k]!;
    error = Math.max(error, maxRelError(w, ref));
    moved = Math.max(moved, ...Array.from(w.dataSync(), (v, j) => Math.abs(v - start[k]![j]!)));
  });
  const iterations = trainer.iterations;
  await trainer.dispose();
  tf.dispose([xs, ys]);
  pooled.dispose();
  single.dispose();
  return { error, moved, iterations };
}

let pool: WorkerPool;
beforeAll(async () => {
  ensurePoolWorkerBuilt();
  await tf.setBackend('cpu');
  // three workers, so a batch of 7 splits unevenly (3, 2, 2)
  pool = await createWorkerPool({ size: 3, backend: 'cpu' });
});
afterAll(() => pool.close());

describe('shardSizes', () => {
  it('splits rows into near-equal contiguous shards', () => {
    expect(shardSizes(7, 3)).toEqual([3, 2, 2]);
    expect(shardSizes(64, 2)).toEqual([32, 32]);
    expect(shardSizes(2, 3)).toEqual([1, 1]);
  });
});

describe('pool.trainer', () => {
  const cases: { loss: LossSpec; classes: number; activation: 'softmax' | 'sigmoid' | 'linear'; labels: string }[] = [
    { loss: 'categoricalCrossentropy', classes: 3, activation: 'softmax', labels: 'one-hot' },
    { loss: 'sparseCategoricalCrossentropy', classes: 3, activation: 'softmax', labels: 'int32' },
    { loss: 'binaryCrossentropy', classes: 2, activation: 'sigmoid', labels: '0/1' },
    { loss: 'meanSquaredError', classes: 2, activation: 'linear', labels: 'real' },
    { loss: { module: fixture('loss.mjs'), export: 'meanAbsoluteError' }, classes: 2, activation: 'linear', labels: 'real' },
  ];

  for (const [i, c] of cases.entries()) {
    const name = typeof c.loss === 'string' ? c.loss : 'a user loss module';
    it(`gives the single-thread gradients for ${name}`, async () => {
      const model = convNet(10 + i, c.classes, c.activation);
      const xs = tf.randomNormal([7, 6, 6, 2], 0, 1, 'float32', 3);
      const labels = tf.randomUniform([7], 0, c.classes, 'int32', 4);
      const ys =
        c.labels === 'one-hot'
          ? tf.oneHot(labels, c.classes).toFloat()
          : c.labels === 'int32'
            ? labels
            : c.labels === '0/1'
              ? tf.randomUniform([7, c.classes], 0, 2, 'int32', 5).toFloat()
              : tf.randomNormal([7, c.classes], 0, 1, 'float32', 6);

      const loss = await resolveLoss(c.loss);
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const reference = tf.variableGrads(() => batchLoss(model, loss, xs, ys), vars);

      const trainer = pool.trainer({ model, loss: c.loss });
      const parallel = await trainer.gradients(xs, ys);
      expect(Object.keys(parallel.grads).sort()).toEqual(Object.keys(reference.grads).sort());
      expect(Math.abs(parallel.loss - reference.value.dataSync()[0]!)).toBeLessThan(1e-5);
      for (const key of Object.keys(reference.grads)) {
        const err = maxRelError(parallel.grads[key]!, reference.grads[key]!);
        expect(err, key).toBeLessThan(1e-4);
        expect(tf.max(tf.abs(reference.grads[key]!)).dataSync()[0], key).toBeGreaterThan(0);
      }
      // batch smaller than the pool: two shards, same answer
      const small = tf.tidy(() => [tf.slice(xs, 0, 2), tf.slice(ys, 0, 2)] as const);
      const ref2 = tf.variableGrads(() => batchLoss(model, loss, small[0], small[1]), vars);
      const par2 = await trainer.gradients(small[0], small[1]);
      for (const key of Object.keys(ref2.grads)) expect(maxRelError(par2.grads[key]!, ref2.grads[key]!)).toBeLessThan(1e-4);

      tf.dispose([xs, ys, labels, reference.value, reference.grads, parallel.grads, small, ref2.value, ref2.grads, par2.grads]);
      await trainer.dispose();
      model.dispose();
    });
  }

  it('splits shards into passes of at most microBatch examples with the same loss and gradients', async () => {
    // 7 rows on 3 workers: shards of 3, 2, 2; passes of 2 split the first into 2 + 1
    const model = convNet(30, 3, 'softmax'); // with an l2 penalty, which each pass adds in its share
    const xs = tf.randomNormal([7, 6, 6, 2], 0, 1, 'float32', 13);
    const ys = tf.randomUniform([7], 0, 3, 'int32', 14);
    const loss = await resolveLoss('sparseCategoricalCrossentropy');
    const reference = tf.variableGrads(() => batchLoss(model, loss, xs, ys), model.trainableWeights.map((w) => w.read() as tf.Variable));
    for (const microBatch of [1, 2, 0]) {
      const trainer = pool.trainer({ model, loss: 'sparseCategoricalCrossentropy', microBatch });
      const parallel = await trainer.gradients(xs, ys);
      expect(Math.abs(parallel.loss - reference.value.dataSync()[0]!), `microBatch ${microBatch}`).toBeLessThan(1e-5);
      for (const key of Object.keys(reference.grads)) expect(maxRelError(parallel.grads[key]!, reference.grads[key]!), key).toBeLessThan(1e-4);
      tf.dispose(parallel.grads);
      await trainer.dispose();
    }
    expect(() => pool.trainer({ model, loss: 'meanSquaredError', microBatch: 2.5 })).toThrow('trainer: microBatch must be a non-negative integer, got 2.5');
    tf.dispose([xs, ys, reference.value, reference.grads]);
    model.dispose();
  });

  it('keeps whole shards for models with batch statistics, nested ones included', () => {
    const bn = () => tf.layers.batchNormalization();
    const inner = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2 }), bn()] });
    const outer = tf.sequential({ layers: [inner, tf.layers.dense({ units: 1 })] });
    const plain = convNet(31, 2, 'linear');
    expect(usesBatchStatistics(outer)).toBe(true);
    expect(usesBatchStatistics(inner)).toBe(true);
    expect(usesBatchStatistics(plain)).toBe(false);
    for (const m of [outer, plain]) m.dispose();
  });

  it('steps the optimizer: loss decreases and the main model changes', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [4], units: 8, activation: 'tanh', kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }) }),
        tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }) }),
      ],
    });
    // two separable classes
    const xs = tf.tidy(() => tf.concat([tf.randomNormal([16, 4], 1, 0.5, 'float32', 7), tf.randomNormal([16, 4], -1, 0.5, 'float32', 8)]));
    const ys = tf.tidy(() => tf.oneHot(tf.concat([tf.zeros([16], 'int32'), tf.ones([16], 'int32')]) as tf.Tensor1D, 2));
    const trainer = pool.trainer({ model, loss: 'categoricalCrossentropy', optimizer: { name: 'adam', learningRate: 0.05 } });
    const before = model.getWeights()[0]!.dataSync().slice();
    const losses: number[] = [];
    for (let i = 0; i < 15; i++) losses.push(await trainer.step(xs, ys));
    expect(losses[0]).toBeGreaterThan(0.3);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.3);
    for (let i = 1; i < losses.length; i++) expect(losses[i]).toBeLessThan(losses[i - 1]! + 1e-3);
    expect(model.getWeights()[0]!.dataSync()).not.toEqual(before);

    // weights set from outside reach the workers: reset and the loss is back where it began
    const reset = tf.tidy(() => {
      const fresh = tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [4], units: 8, activation: 'tanh', kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }) }),
          tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }) }),
        ],
      });
      return fresh.getWeights().map((w) => tf.keep(w.clone()));
    });
    model.setWeights(reset);
    const again = await trainer.gradients(xs, ys);
    expect(again.loss).toBeCloseTo(losses[0]!, 5);
    tf.dispose([xs, ys, ...reset, again.grads]);
    await trainer.dispose();
    model.dispose();
  });

  it("steps 'adam', 'sgd' and a caller's tf.Optimizer as tfjs does on one thread", async () => {
    const before = tf.memory().numTensors;
    const adam = tf.train.adam(0.01);
    const r1 = await stepsAgainstReference(pool, { name: 'adam', learningRate: 0.01 }, adam);
    expect(r1.moved).toBeGreaterThan(0.01);
    expect(r1.error).toBeLessThan(1e-4);
    expect(r1.iterations).toBe(3);
    const sgd = tf.train.sgd(0.1);
    const r2 = await stepsAgainstReference(pool, { name: 'sgd', learningRate: 0.1 }, sgd);
    expect(r2.moved).toBeGreaterThan(0.01);
    expect(r2.error).toBeLessThan(1e-4);
    // a tf.Optimizer is stepped through tfjs, and stays the caller's
    const mine = tf.train.adagrad(0.1);
    const twin = tf.train.adagrad(0.1);
    const r3 = await stepsAgainstReference(pool, mine, twin);
    expect(r3.moved).toBeGreaterThan(0.01);
    expect(r3.error).toBeLessThan(1e-4);
    expect(r3.iterations).toBeUndefined();
    for (const o of [adam, sgd, mine, twin]) o.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => pool.trainer({ model: convNet(1, 2, 'linear'), loss: 'meanSquaredError', optimizer: { name: 'adam', beta1: 1 } })).toThrow(
      'adam: needs learningRate >= 0, beta1 and beta2 in [0, 1)',
    );
  });

  it('rejects with the worker error when the loss module lacks the export', async () => {
    const model = convNet(1, 2, 'linear');
    const trainer = pool.trainer({ model, loss: { module: fixture('loss.mjs'), export: 'nope' } });
    const xs = tf.zeros([3, 6, 6, 2]);
    const ys = tf.zeros([3, 2]);
    await expect(trainer.step(xs, ys)).rejects.toThrow(/no exported function 'nope'/);
    tf.dispose([xs, ys]);
    await trainer.dispose();
    model.dispose();
  });

  it('brings back state the forward pass updates (batch-norm moving statistics)', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [3], units: 4, kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) }),
        tf.layers.batchNormalization({ momentum: 0.5 }),
        tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotNormal({ seed: 4 }) }),
      ],
    });
    const movingMean = model.layers[1]!.weights.find((w) => w.name.includes('moving_mean'))!;
    expect(Array.from(movingMean.read().dataSync())).toEqual([0, 0, 0, 0]);
    const xs = tf.randomNormal([9, 3], 2, 1, 'float32', 9);
    const ys = tf.randomNormal([9, 1], 0, 1, 'float32', 10);
    const trainer = pool.trainer({ model, loss: 'meanSquaredError', optimizer: 'sgd' });
    await trainer.step(xs, ys);
    // the size-weighted mean of the shards' updates is the whole batch's update: 0.5 * mean(dense(xs))
    const expected = tf.tidy(() => tf.mul(tf.mean(model.layers[0]!.apply(xs) as tf.Tensor, 0), 0.5));
    // (the first dense layer has moved one sgd step since, so compare loosely)
    const got = movingMean.read().dataSync();
    expect(got.some((v) => v !== 0)).toBe(true);
    expected.dataSync().forEach((v, i) => {
      expect(got[i]).toBeCloseTo(v, 1);
    });
    tf.dispose([xs, ys, expected]);
    await trainer.dispose();
    model.dispose();
  });
});

describe('pool.trainer with batch statistics', () => {
  it('carries moving statistics from step to step with the built-in optimizers', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [3], units: 4, kernelInitializer: tf.initializers.glorotNormal({ seed: 5 }) }),
        tf.layers.batchNormalization({ momentum: 0.5 }),
        tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotNormal({ seed: 6 }) }),
      ],
    });
    const movingMean = model.layers[1]!.weights.find((w) => w.name.includes('moving_mean'))!;
    const xs = tf.randomNormal([9, 3], 2, 1, 'float32', 13);
    const ys = tf.randomNormal([9, 1], 0, 1, 'float32', 14);
    // learning rate 0: the layers stay put, so the batch mean is the same at every step
    const trainer = pool.trainer({ model, loss: 'meanSquaredError', optimizer: { name: 'sgd', learningRate: 0 } });
    await trainer.step(xs, ys);
    await trainer.step(xs, ys);
    // from 0, two updates with momentum 0.5: 0.5 * mu, then 0.5 * (0.5 * mu) + 0.5 * mu = 0.75 * mu
    const expected = tf.tidy(() => tf.mul(tf.mean(model.layers[0]!.apply(xs) as tf.Tensor, 0), 0.75).dataSync());
    const got = movingMean.read().dataSync();
    expected.forEach((v, i) => {
      expect(Math.abs(got[i]! - v), `unit ${i}`).toBeLessThan(1e-5);
    });
    tf.dispose([xs, ys]);
    await trainer.dispose();
    model.dispose();
  });
});

describe('pool.trainer on wasm workers', () => {
  it('steps adam as tf.train.adam with the main thread on wasm too (weights written in place)', async () => {
    await initBackend({ backend: 'wasm', verbose: false });
    const wasmPool = await createWorkerPool({ size: 2, backend: 'wasm' });
    try {
      const before = tf.memory().numTensors;
      const adam = tf.train.adam(0.01);
      const r = await stepsAgainstReference(wasmPool, { name: 'adam', learningRate: 0.01 }, adam);
      expect(r.moved).toBeGreaterThan(0.01);
      expect(r.error).toBeLessThan(1e-4);
      adam.dispose();
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      await wasmPool.close();
      await tf.setBackend('cpu');
    }
  });


  it('matches the single-thread gradients of a conv net computed on cpu', async () => {
    const wasmPool = await createWorkerPool({ size: 2, backend: 'wasm' });
    try {
      expect(wasmPool.backends).toEqual(['wasm', 'wasm']);
      // a conv net: its filter gradient needs the training kernels initBackend registers on wasm
      const model = convNet(20, 3, 'softmax');
      const xs = tf.randomNormal([11, 6, 6, 2], 0, 1, 'float32', 11);
      const ys = tf.randomUniform([11], 0, 3, 'int32', 12);
      const loss = await resolveLoss('sparseCategoricalCrossentropy');
      const reference = tf.variableGrads(
        () => batchLoss(model, loss, xs, ys),
        model.trainableWeights.map((w) => w.read() as tf.Variable),
      );
      const trainer = wasmPool.trainer({ model, loss: 'sparseCategoricalCrossentropy' });
      const parallel = await trainer.gradients(xs, ys);
      for (const key of Object.keys(reference.grads)) {
        expect(maxRelError(parallel.grads[key]!, reference.grads[key]!), key).toBeLessThan(1e-4);
      }
      tf.dispose([xs, ys, reference.value, reference.grads, parallel.grads]);
      model.dispose();
    } finally {
      await wasmPool.close();
    }
  });
});
