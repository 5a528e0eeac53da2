import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededDense } from '../testing/fixtures.js';
import { Adam } from './adam.js';
import { minimizeStep, NonFiniteLossError } from './loop.js';
import type { TrainingOptimizer } from './optimizer.js';

const weights = (m: tf.LayersModel) => m.getWeights().flatMap((w) => Array.from(w.dataSync()));

/** Plain gradient descent, w -= lr * g: its update shows the gradient it was given (Adam's hides its scale). */
class Sgd implements TrainingOptimizer {
  readonly vars: readonly tf.Variable[];
  iterations = 0;
  constructor(
    model: tf.LayersModel,
    readonly lr: number,
  ) {
    this.vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  }
  apply(grads: readonly tf.Tensor[]): void {
    tf.tidy(() => {
      this.vars.forEach((v, i) => {
        v.assign(tf.sub(v, tf.mul(grads[i]!, this.lr)));
      });
    });
    this.iterations++;
  }
  stateTensors(): Record<string, tf.Tensor> {
    return {};
  }
  setState(_tensors: Record<string, tf.Tensor>, iterations: number): void {
    this.iterations = iterations;
  }
  dispose(): void {}
}

/** The gradient of `loss` for `vars` as float64 arrays, taken without updating anything. */
function gradientsOf(loss: () => tf.Scalar, vars: readonly tf.Variable[]): number[][] {
  const { value, grads } = tf.variableGrads(loss, vars as tf.Variable[]);
  const out = vars.map((v) => Array.from(grads[v.name]!.dataSync()));
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

const norm = (grads: number[][]) => Math.sqrt(grads.flat().reduce((s, g) => s + g * g, 0));
const weightsOf = (vars: readonly tf.Variable[]) => vars.map((v) => Array.from(v.dataSync()));
/** w - step * g, variable by variable (`start` flat or per variable). */
const descended = (start: number[][] | number[], grads: number[][], step: number): number[][] => {
  const flat = start.flat();
  let k = 0;
  return grads.map((g) => g.map((gi) => flat[k++]! - step * gi));
};

function expectClose(actual: number[][], expected: number[][]): void {
  expect(actual.map((a) => a.length)).toEqual(expected.map((e) => e.length));
  const worst = Math.max(...actual.flat().map((a, i) => Math.abs(a - expected.flat()[i]!)));
  expect(worst).toBeLessThan(1e-6);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('minimizeStep', () => {
  it('applies the same update as variableGrads + apply, returns the loss and frees every gradient', () => {
    const x = tf.tensor2d([[1, 2, 3], [-1, 0.5, 2]]);
    const a = seededDense(3, 2, 1);
    const b = seededDense(3, 2, 1);
    const optA = new Adam(a, { learningRate: 0.1 });
    const optB = new Adam(b, { learningRate: 0.1 });
    const lossOf = (m: tf.LayersModel) => () => tf.mean(tf.square(tf.sub(m.apply(x) as tf.Tensor, 1))) as tf.Scalar;
    const expected = tf.tidy(() => lossOf(a)().dataSync()[0]!);
    const before = tf.memory().numTensors;
    const loss = minimizeStep(optA, lossOf(a), 'test', 0);
    expect(tf.memory().numTensors).toBe(before);
    expect(loss).toBeCloseTo(expected, 6);
    const { grads } = tf.variableGrads(lossOf(b), optB.vars as tf.Variable[]);
    optB.apply(optB.vars.map((v) => grads[v.name]!));
    tf.dispose(Object.values(grads));
    expect(weights(a)).toEqual(weights(b));
    expect(minimizeStep(optA, lossOf(a), 'test', 1)).toBeLessThan(loss);
    x.dispose();
    optA.dispose();
    optB.dispose();
    a.dispose();
    b.dispose();
  });

  it('applies nothing when the loss is not finite, naming the caller and step', () => {
    const x = tf.tensor2d([[1, 2, 3]]);
    const m = seededDense(3, 2, 2);
    const opt = new Adam(m, { learningRate: 0.1 });
    const start = weights(m);
    const infinite = () => tf.div(tf.sum(m.apply(x) as tf.Tensor), 0) as tf.Scalar;
    const before = tf.memory().numTensors;
    expect(() => minimizeStep(opt, infinite, 'trainThing', 7)).toThrow(NonFiniteLossError);
    expect(() => minimizeStep(opt, infinite, 'trainThing', 7)).toThrow(/^trainThing: loss is -?Infinity at step 7$/);
    expect(tf.memory().numTensors).toBe(before);
    expect(weights(m)).toEqual(start);
    expect(opt.iterations).toBe(0);
    x.dispose();
    m.dispose();
    opt.dispose();
  });

  it('reports extra scalars and the global gradient norm, equal to one computed by hand', () => {
    const x = tf.tensor2d([[1, 2, 3], [-1, 0.5, 2], [0.3, -2, 1]]);
    const m = seededDense(3, 2, 3);
    const opt = new Sgd(m, 0.05);
    const mse = () => tf.mean(tf.square(tf.sub(m.apply(x) as tf.Tensor, 1))) as tf.Scalar;
    const expectedLoss = tf.tidy(() => mse().dataSync()[0]!);
    const expectedMean = tf.tidy(() => tf.mean(m.apply(x) as tf.Tensor).dataSync()[0]!);
    const grads = gradientsOf(mse, opt.vars);
    const start = opt.vars.map((v) => Array.from(v.dataSync()));
    const before = tf.memory().numTensors;
    const values = minimizeStep(
      {
        optimizer: opt,
        loss: () => {
          const y = m.apply(x) as tf.Tensor;
          return { loss: tf.mean(tf.square(tf.sub(y, 1))) as tf.Scalar, report: { meanOutput: tf.mean(y) as tf.Scalar } };
        },
        gradNorm: 'gradNorm',
      },
      'test',
      0,
    );
    expect(tf.memory().numTensors).toBe(before);
    // extras first, then the minimised value, then the norm
    expect(Object.keys(values)).toEqual(['meanOutput', 'loss', 'gradNorm']);
    expect(values.loss).toBeCloseTo(expectedLoss, 6);
    expect(values.meanOutput).toBeCloseTo(expectedMean, 6);
    expect(norm(grads)).toBeGreaterThan(0.1);
    expect(values.gradNorm).toBeCloseTo(norm(grads), 5);
    // the update is w - lr g with every gradient
    expectClose(weightsOf(opt.vars), descended(start, grads, 0.05));
    expect(opt.iterations).toBe(1);
    x.dispose();
    m.dispose();
  });

  it('shares one gradient between several optimizers: one norm, one clip, each its own slice; unreached variables get zeros', () => {
    const x = tf.tensor2d([[1, 2, 3], [-1, 0.5, 2]]);
    const lower = seededDense(3, 4, 4);
    const upper = seededDense(4, 2, 5);
    const unused = seededDense(3, 1, 6);
    const optLower = new Sgd(lower, 0.1);
    const optUpper = new Sgd(upper, 0.1);
    const optUnused = new Sgd(unused, 0.1);
    const loss = () => tf.mean(tf.square(tf.sub(upper.apply(lower.apply(x)) as tf.Tensor, 2))) as tf.Scalar;
    const vars = [...optLower.vars, ...optUpper.vars];
    const grads = gradientsOf(loss, vars);
    const start = vars.map((v) => Array.from(v.dataSync()));
    const unusedStart = weights(unused);
    const clipNorm = 0.5 * norm(grads);
    const before = tf.memory().numTensors;
    const values = minimizeStep({ optimizer: [optLower, optUnused, optUpper], loss, gradNorm: 'norm', clipNorm }, 'test', 0);
    expect(tf.memory().numTensors).toBe(before);
    // reported before clipping
    expect(values.norm).toBeCloseTo(norm(grads), 5);
    const scale = clipNorm / values.norm!;
    expectClose(weightsOf(vars), descended(start, grads, 0.1 * scale));
    expect(weights(unused)).toEqual(unusedStart);
    expect([optLower.iterations, optUnused.iterations, optUpper.iterations]).toEqual([1, 1, 1]);

    // a norm under clipNorm leaves the gradient alone
    const grads2 = gradientsOf(loss, vars);
    const start2 = vars.map((v) => Array.from(v.dataSync()));
    minimizeStep({ optimizer: [optLower, optUpper], loss, clipNorm: 1e6 }, 'test', 1);
    expectClose(weightsOf(vars), descended(start2, grads2, 0.1));
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    for (const m of [lower, upper, unused]) m.dispose();
  });

  it('applies nothing when a reported extra is not finite, naming it', () => {
    const x = tf.tensor2d([[1, 2, 3]]);
    const m = seededDense(3, 2, 7);
    const opt = new Adam(m, { learningRate: 0.1 });
    const start = weights(m);
    const before = tf.memory().numTensors;
    const step = () =>
      minimizeStep(
        {
          optimizer: opt,
          loss: () => {
            const y = m.apply(x) as tf.Tensor;
            return { loss: tf.mean(tf.square(y)) as tf.Scalar, report: { ratio: tf.div(tf.sum(y), 0) as tf.Scalar } };
          },
          gradNorm: 'gradNorm',
        },
        'trainThing',
        3,
      );
    expect(step).toThrow(NonFiniteLossError);
    let error: NonFiniteLossError | undefined;
    try {
      step();
    } catch (err) {
      error = err as NonFiniteLossError;
    }
    expect(error!.message).toMatch(/^trainThing: ratio is -?Infinity at step 3$/);
    expect(error!.step).toBe(3);
    expect(Number.isFinite(error!.losses.loss)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    expect(weights(m)).toEqual(start);
    expect(opt.iterations).toBe(0);
    x.dispose();
    m.dispose();
    opt.dispose();
  });

  it('checks every objective before updating any; update false or a declining decision leaves weights alone', () => {
    const x = tf.tensor2d([[1, 2, 3], [0, 1, -1]]);
    const g = seededDense(3, 2, 8);
    const d = seededDense(2, 1, 9);
    const optG = new Sgd(g, 0.1);
    const optD = new Sgd(d, 0.1);
    const lossG = () => tf.mean(tf.square(g.apply(x) as tf.Tensor)) as tf.Scalar;
    const lossD = () => tf.mean(d.apply(g.apply(x)) as tf.Tensor) as tf.Scalar;
    const startG = weights(g);
    const startD = weights(d);
    const before = tf.memory().numTensors;

    // D's loss is not finite: G, whose gradient came first, is not updated either
    const badD = () => tf.div(lossD(), 0) as tf.Scalar;
    expect(() =>
      minimizeStep(
        [
          { optimizer: optG, loss: lossG, name: 'g' },
          { optimizer: optD, loss: badD, name: 'd' },
        ],
        'gan',
        0,
      ),
    ).toThrow(/^gan: d is -?Infinity at step 0$/);
    expect(weights(g)).toEqual(startG);
    expect(weights(d)).toEqual(startD);

    // G forward only (its norm reads 0); D's update declined after seeing the values
    const expectedG = tf.tidy(() => lossG().dataSync()[0]!);
    let seen: Record<string, number> | undefined;
    const values = minimizeStep(
      [
        { optimizer: optG, loss: lossG, name: 'g', gradNorm: 'normG', update: false },
        {
          optimizer: optD,
          loss: lossD,
          name: 'd',
          update: (v) => {
            seen = { ...v };
            return false;
          },
        },
      ],
      'gan',
      1,
    );
    expect(values).toEqual(seen);
    expect(Object.keys(values)).toEqual(['g', 'normG', 'd']);
    expect(values.g).toBeCloseTo(expectedG, 6);
    expect(values.normG).toBe(0);
    expect(weights(g)).toEqual(startG);
    expect(weights(d)).toEqual(startD);
    expect([optG.iterations, optD.iterations]).toEqual([0, 0]);

    // both updated: from gradients taken at the same weights
    const gradsG = gradientsOf(lossG, optG.vars);
    const gradsD = gradientsOf(lossD, optD.vars);
    minimizeStep(
      [
        { optimizer: optG, loss: lossG, name: 'g' },
        { optimizer: optD, loss: lossD, name: 'd' },
      ],
      'gan',
      2,
    );
    expectClose(weightsOf(optG.vars), descended(startG, gradsG, 0.1));
    expectClose(weightsOf(optD.vars), descended(startD, gradsD, 0.1));
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    g.dispose();
    d.dispose();
  });

  it('refuses a name reported twice and a non-scalar extra, freeing everything', () => {
    const x = tf.tensor2d([[1, 2, 3]]);
    const m = seededDense(3, 2, 10);
    const opt = new Sgd(m, 0.1);
    const start = weights(m);
    const before = tf.memory().numTensors;
    const y = () => m.apply(x) as tf.Tensor;
    expect(() =>
      minimizeStep({ optimizer: opt, loss: () => ({ loss: tf.sum(y()) as tf.Scalar, report: { loss: tf.mean(y()) as tf.Scalar } }) }, 'test', 0),
    ).toThrow(/^test: the step reports loss twice$/);
    // found after the gradients were taken: they are freed too
    expect(() => minimizeStep({ optimizer: opt, loss: () => tf.sum(y()) as tf.Scalar, gradNorm: 'loss' }, 'test', 0)).toThrow(
      /^test: the step reports loss twice$/,
    );
    expect(() =>
      minimizeStep({ optimizer: opt, loss: () => ({ loss: tf.sum(y()) as tf.Scalar, report: { rows: tf.sum(y(), 1) as tf.Scalar } }) }, 'test', 0),
    ).toThrow(/^test: rows must be a scalar, got shape \[1\]$/);
    expect(() => minimizeStep({ optimizer: opt, loss: () => tf.sum(y()) as tf.Scalar, clipNorm: 0 }, 'test', 0)).toThrow(
      /^test: clipNorm must be > 0, got 0$/,
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(weights(m)).toEqual(start);
    x.dispose();
    m.dispose();
  });
});
