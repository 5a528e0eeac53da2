import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Adam } from '@ppgn/core';
import { seededDense } from '@ppgn/core/testing';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOptimizer, MomentumSgd, resolveOptimizer } from './optimizer.js';
import { tinyConfig, toyData, useBackend } from './test-helpers.js';
import { trainLevel } from './train.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lapgan-opt-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('MomentumSgd', () => {
  it('is its own optimizer (not an Adam) and follows Torch SGD: v = g, then v = m v + (1 - d) g; w -= lr v', async () => {
    await useBackend('cpu');
    const m = seededDense(2, 1, 3);
    const opt = createOptimizer(m, resolveOptimizer({ type: 'sgd', lr: 0.1, momentum: 0.5, dampening: 0.25 }));
    expect(opt).toBeInstanceOf(MomentumSgd);
    expect(opt).not.toBeInstanceOf(Adam);
    const start = tf.memory().numTensors;
    const w0 = Array.from(m.getWeights()[0]!.dataSync());
    const g1 = [tf.tensor2d([[1], [2]]), tf.tensor1d([3])];
    const g2 = [tf.tensor2d([[-1], [4]]), tf.tensor1d([0])];
    opt.apply(g1);
    opt.apply(g2);
    expect(opt.iterations).toBe(2);
    // kernel: v1 = [1, 2]; v2 = 0.5 v1 + 0.75 [-1, 4] = [-0.25, 4]; w = w0 - 0.1 (v1 + v2)
    const kernel = Array.from(m.getWeights()[0]!.dataSync());
    expect(kernel[0]).toBeCloseTo(w0[0]! - 0.1 * (1 - 0.25), 6);
    expect(kernel[1]).toBeCloseTo(w0[1]! - 0.1 * (2 + 4), 6);
    // the bias: v1 = 3, v2 = 1.5; b = 0 - 0.1 * 4.5
    expect(m.getWeights()[1]!.dataSync()[0]).toBeCloseTo(-0.45, 6);
    // its state is the velocities, restorable into a fresh optimizer
    const state = opt.stateTensors('g/');
    expect(Object.keys(state)).toEqual(['g/velocity/0', 'g/velocity/1']);
    const copy = new MomentumSgd(m, 0.5, 0.25, 0.1);
    copy.setState(state, 2, 'g/');
    expect(Array.from(copy.stateTensors()['velocity/0']!.dataSync())).toEqual([-0.25, 4]);
    expect(() => copy.setState({}, 1, 'g/')).toThrow(/saved state has no "g\/velocity\/0"/);
    expect(() => copy.apply([g1[0]!])).toThrow(/got 1 gradients for 2 variables/);
    tf.dispose([...g1, ...g2]);
    copy.dispose();
    opt.dispose();
    expect(tf.memory().numTensors).toBe(start);
    m.dispose();
  });

  it('checkpoints through the training loop: a resumed SGD run equals an uninterrupted one', async () => {
    await useBackend('wasm');
    const data = toyData(8, 8, 3, 3);
    const common = {
      config: tinyConfig({ sizes: [4, 8] }),
      level: 1,
      data,
      batchSize: 4,
      seed: 2,
      progress: false,
      optimizer: { type: 'sgd', lr: 0.05, momentum: 0.7 },
    } as const;
    const straight = await trainLevel({ ...common, steps: 3 });
    const dir = path.join(root, 'sgd-resume');
    (await trainLevel({ ...common, steps: 1, checkpointDir: dir })).level.dispose();
    const resumed = await trainLevel({ ...common, steps: 3, checkpointDir: dir });
    expect(resumed.resumedFrom).toBe(1);
    expect(resumed.history.dLoss).toEqual(straight.history.dLoss.slice(1));
    const weights = (r: typeof straight) => r.level.nets[0]!.g.getWeights().map((w) => Array.from(w.dataSync()));
    expect(weights(resumed)).toEqual(weights(straight));
    for (const r of [straight, resumed]) r.level.dispose();
    data.images.dispose();
  });
});
