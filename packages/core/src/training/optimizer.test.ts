import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { seededDense } from '../testing/fixtures.js';
import { Adam } from './adam.js';
import { runTraining } from './loop.js';
import type { TrainingOptimizer } from './optimizer.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Gradient descent on the running mean of all gradients so far: its state matters for the next step. */
class MeanGradientDescent implements TrainingOptimizer {
  iterations = 0;
  private sums: tf.Tensor[] = [];
  readonly vars: tf.Variable[];

  constructor(model: tf.LayersModel, readonly lr: number) {
    this.vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  apply(grads: readonly tf.Tensor[]): void {
    const next = tf.tidy(() =>
      this.vars.map((x, i) => {
        const sum = this.sums[i] === undefined ? tf.clone(grads[i]!) : tf.add(this.sums[i]!, grads[i]!);
        x.assign(tf.sub(x, tf.mul(sum, this.lr / (this.iterations + 1))));
        return sum;
      }),
    );
    tf.dispose(this.sums);
    this.sums = next;
    this.iterations += 1;
  }

  stateTensors(prefix = ''): Record<string, tf.Tensor> {
    return Object.fromEntries(this.sums.map((t, i) => [`${prefix}sum/${i}`, t]));
  }

  setState(tensors: Record<string, tf.Tensor>, iterations: number, prefix = ''): void {
    tf.dispose(this.sums);
    this.sums = iterations === 0 ? [] : this.vars.map((_, i) => tf.clone(tensors[`${prefix}sum/${i}`]!));
    this.iterations = iterations;
  }

  dispose(): void {
    tf.dispose(this.sums);
    this.sums = [];
  }
}

const model = () => seededDense(3, 1, 7);

/** Runs `steps` steps of least squares toward y = sum(x), resuming from `dir` when given. */
async function trainFor(steps: number, dir?: string): Promise<{ weights: number[][]; losses: number[]; iterations: number }> {
  const m = model();
  const opt = new MeanGradientDescent(m, 0.1);
  const result = await runTraining({
    who: 'optimizer test',
    steps,
    seed: 1,
    checkpointDir: dir,
    checkpointEvery: 1,
    progress: false,
    models: { m },
    optimizers: { m: opt },
    state: {},
    fingerprint: {},
    step: async (_step, rng) => {
      const x = rng.uniformTensor([8, 3], -1, 1) as tf.Tensor2D;
      const y = tf.sum(x, 1, true);
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(m.apply(x) as tf.Tensor, y))) as tf.Scalar, opt.vars);
      const loss = value.dataSync()[0]!;
      const ordered = opt.vars.map((v) => grads[v.name]!);
      opt.apply(ordered);
      tf.dispose([x, y, value, ...ordered]);
      return { losses: { loss }, state: {} };
    },
  });
  const weights = m.getWeights().map((w) => Array.from(w.dataSync()));
  const iterations = opt.iterations;
  opt.dispose();
  m.dispose();
  return { weights, losses: result.history.map((h) => h.loss!), iterations };
}

describe('the optimizer interface of the training loop', () => {
  it('Adam implements it', () => {
    const m = model();
    const adam: TrainingOptimizer = new Adam(m);
    expect(adam.vars).toHaveLength(2);
    adam.dispose();
    m.dispose();
  });

  it('runTraining trains and checkpoints any optimizer that implements it, resuming exactly', async () => {
    await tf.setBackend('cpu');
    const start = tf.memory().numTensors;
    const straight = await trainFor(4);
    const dir = await mkdtemp(path.join(tmpdir(), 'ppgn-opt-'));
    dirs.push(dir);
    await trainFor(2, dir);
    const resumed = await trainFor(4, dir);
    expect(resumed.iterations).toBe(4);
    expect(resumed.losses).toEqual(straight.losses.slice(2));
    expect(resumed.weights).toEqual(straight.weights);
    expect(tf.memory().numTensors).toBe(start);
  });
});
