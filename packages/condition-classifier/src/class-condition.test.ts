import { Rng } from '@ppgn/core';
import { describeConditionContract } from '@ppgn/core/testing';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ClassObjective, classCondition } from './class-condition.js';
import { inputAdapter } from './input-adapter.js';
import { endsInSoftmax, logitsModel } from './logits.js';
import {
  BACKENDS,
  convClassifier,
  denseClassifier,
  flatClassifier,
  linearGraphModel,
  maxDiff,
  useBackend,
} from './test-helpers.js';

/** A linear classifier on 4x4x1 images: logits = x_flat . W + b, with W [16, K]. */
interface Linear {
  w: Float64Array; // [16, K] row-major
  b: Float64Array;
  k: number;
}

const N = 16;

function linearWeights(k: number, seed: number): Linear {
  const rng = new Rng(seed);
  return { w: Float64Array.from(rng.normalArray(N * k, 0, 0.5)), b: Float64Array.from(rng.normalArray(k, 0, 0.5)), k };
}

/** The linear classifier as a LayersModel: logits, a fused softmax, or a separate softmax layer. */
function linearModel(lin: Linear, head: 'logits' | 'fused' | 'layer'): tf.LayersModel {
  const m = tf.sequential({ name: `linear_${head}` });
  m.add(tf.layers.flatten({ inputShape: [4, 4, 1] }));
  m.add(tf.layers.dense({ units: lin.k, activation: head === 'fused' ? 'softmax' : 'linear', name: 'dense' }));
  if (head === 'layer') m.add(tf.layers.softmax({ name: 'softmax' }));
  const w = tf.tensor2d(Float32Array.from(lin.w), [N, lin.k]);
  const b = tf.tensor1d(Float32Array.from(lin.b));
  m.setWeights([w, b]);
  tf.dispose([w, b]);
  return m;
}

/** Closed-form gradient of sum_c weight_c * objective_c with respect to x_flat, per item. */
function closedForm(lin: Linear, x: Float32Array, classes: Array<[number, number]>, objective: ClassObjective) {
  const { w, b, k } = lin;
  const z = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    z[j] = b[j]!;
    for (let i = 0; i < N; i++) z[j]! += x[i]! * w[i * k + j]!;
  }
  const zmax = Math.max(...z);
  const e = z.map((v) => Math.exp(v - zmax));
  const sum = e.reduce((a, v) => a + v, 0);
  const p = e.map((v) => v / sum);
  const grad = new Float64Array(N);
  let value = 0;
  for (const [c, weight] of classes) {
    value += weight * (objective === 'logit' ? z[c]! : Math.log(p[c]!));
    for (let i = 0; i < N; i++) {
      let g: number;
      if (objective === 'logit') g = w[i * k + c]!;
      else if (objective === 'diagonal') g = (1 - p[c]!) * w[i * k + c]!;
      else {
        g = w[i * k + c]!;
        for (let j = 0; j < k; j++) g -= p[j]! * w[i * k + j]!;
      }
      grad[i]! += weight * g;
    }
  }
  return { grad, value };
}

for (const backend of BACKENDS) {
  describe(`classCondition on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    describeConditionContract('dense classifier', () => classCondition({ model: denseClassifier([8, 8, 1], 5, 1), classIndex: 2 }), {
      isLogProbability: true,
    });
    describeConditionContract(
      'dense classifier on flat vectors, logit objective',
      () => classCondition({ model: flatClassifier(64, 5, 2), classIndex: 4, imageShape: [8, 8, 1], objective: 'logit' }),
    );
    describeConditionContract(
      'conv classifier with softmax output',
      () => classCondition({ model: convClassifier([8, 8, 3], 5, 3), classIndex: 1 }),
      { isLogProbability: true },
    );
    describeConditionContract(
      'conv classifier with softmax output, diagonal objective, weighted classes',
      () =>
        classCondition({
          model: convClassifier([8, 8, 3], 5, 4, 'layer'),
          classes: [
            { index: 0, weight: 0.5 },
            { index: 3, weight: 0.5 },
          ],
          objective: 'diagonal',
        }),
      { isLogProbability: true },
    );
    describeConditionContract(
      'conv classifier behind an adapter (32x32x3 generator images -> 28x28x1 model)',
      () =>
        classCondition({
          model: convClassifier([28, 28, 1], 10, 5, 'layer'),
          classIndex: 7,
          input: inputAdapter({ from: [32, 32, 3], to: [28, 28, 1] }),
        }),
      { isLogProbability: true },
    );

    describeConditionContract(
      'GraphModel with softmax output',
      async () => {
        const lin = linearWeights(5, 51);
        const model = await linearGraphModel([4, 4, 1], Float32Array.from(lin.w), Float32Array.from(lin.b));
        return classCondition({ model, classIndex: 3, output: 'probabilities' });
      },
      { isLogProbability: true },
    );

    it('reads a GraphModel: probabilities as log p, logits from a named node', async () => {
      const lin = linearWeights(4, 61);
      const model = await linearGraphModel([4, 4, 1], Float32Array.from(lin.w), Float32Array.from(lin.b));
      const x = new Rng(62).uniformArray(2 * N);
      const images = tf.tensor4d(x, [2, 4, 4, 1]);
      const cases = [
        { objective: 'log-softmax', condition: classCondition({ model, classIndex: 1, output: 'probabilities' }) },
        { objective: 'diagonal', condition: classCondition({ model, classIndex: 1, logitsNode: 'logits', objective: 'diagonal' }) },
        { objective: 'logit', condition: classCondition({ model, classIndex: 1, logitsNode: 'logits', objective: 'logit' }) },
      ] as const;
      for (const { objective, condition } of cases) {
        expect(condition.imageShape).toEqual([4, 4, 1]);
        const dx = tf.grad((xx: tf.Tensor) => tf.sum(condition.logProb(xx as tf.Tensor4D)))(images);
        const values = condition.logProb(images).dataSync();
        for (let bi = 0; bi < 2; bi++) {
          const expected = closedForm(lin, x.subarray(bi * N, (bi + 1) * N), [[1, 1]], objective);
          expect(maxDiff(dx.dataSync().subarray(bi * N, (bi + 1) * N), expected.grad)).toBeLessThan(1e-5);
          expect(values[bi]).toBeCloseTo(expected.value, 4);
        }
        dx.dispose();
      }
      images.dispose();
      model.dispose();
    });

    describe('gradients equal the closed forms of a linear model', () => {
      const lin = linearWeights(4, 11);
      const x = new Rng(12).uniformArray(3 * N);
      const cases: Array<{ objective: ClassObjective; head: 'logits' | 'fused' | 'layer' }> = [];
      for (const objective of ['log-softmax', 'logit', 'diagonal'] as const) {
        for (const head of ['logits', 'fused', 'layer'] as const) cases.push({ objective, head });
      }
      for (const { objective, head } of cases) {
        for (const classes of [[[2, 1]], [[0, 0.7], [3, -0.4], [0, 0.3]]] as Array<Array<[number, number]>>) {
          const setName = classes.length === 1 ? 'class 2' : 'a weighted class set';
          it(`${objective}, model output ${head}, ${setName}`, () => {
            const model = linearModel(lin, head);
            const condition =
              classes.length === 1
                ? classCondition({ model, classIndex: 2, objective })
                : classCondition({ model, classes: classes.map(([index, weight]) => ({ index, weight })), objective });
            const images = tf.tensor4d(x, [3, 4, 4, 1]);
            const { value, grad } = tf.valueAndGrad((xx: tf.Tensor) => tf.sum(condition.logProb(xx as tf.Tensor4D)))(images);
            const perItem = condition.logProb(images).dataSync();
            const dx = grad.dataSync();
            let total = 0;
            for (let bi = 0; bi < 3; bi++) {
              const expected = closedForm(lin, x.subarray(bi * N, (bi + 1) * N), classes, objective);
              expect(maxDiff(dx.subarray(bi * N, (bi + 1) * N), expected.grad)).toBeLessThan(1e-5);
              expect(perItem[bi]).toBeCloseTo(expected.value, 4);
              total += expected.value;
            }
            expect(value.dataSync()[0]).toBeCloseTo(total, 4);
            tf.dispose([images, value, grad]);
            model.dispose();
          });
        }
      }
    });

    it('reads logits before a softmax: fused and separate heads give the logits model', () => {
      expect(tf.getBackend()).toBe(backend);
      const lin = linearWeights(3, 21);
      const images = new Rng(22).uniformTensor([2, 4, 4, 1]);
      const reference = linearModel(lin, 'logits').predict(images) as tf.Tensor;
      for (const head of ['fused', 'layer'] as const) {
        const model = linearModel(lin, head);
        expect(endsInSoftmax(model)).toBe(true);
        const lm = logitsModel(model);
        expect(lm.source.kind).toBe(head === 'fused' ? 'fused-dense' : 'softmax-layer');
        expect(lm.numClasses).toBe(3);
        const logits = lm.predict(images);
        expect(maxDiff(logits.dataSync(), reference.dataSync())).toBeLessThan(1e-5);
        logits.dispose();
      }
      expect(endsInSoftmax(linearModel(lin, 'logits'))).toBe(false);
      tf.dispose([images, reference]);
    });

    it('reads through the softmax layer of a functional model', () => {
      const lin = linearWeights(3, 71);
      const input = tf.input({ shape: [4, 4, 1], name: 'image' });
      const flat = tf.layers.flatten({ name: 'flat' }).apply(input) as tf.SymbolicTensor;
      const logits = tf.layers.dense({ units: 3, name: 'dense' }).apply(flat) as tf.SymbolicTensor;
      const probs = tf.layers.softmax({ name: 'probs' }).apply(logits) as tf.SymbolicTensor;
      const model = tf.model({ inputs: input, outputs: probs, name: 'functional' });
      tf.tidy(() => model.getLayer('dense').setWeights([tf.tensor2d(Float32Array.from(lin.w), [N, 3]), tf.tensor1d(Float32Array.from(lin.b))]));
      expect(logitsModel(model).source).toEqual({ kind: 'softmax-layer', layer: 'probs' });
      const x = new Rng(72).uniformArray(N);
      const images = tf.tensor4d(x, [1, 4, 4, 1]);
      const condition = classCondition({ model, classIndex: 2, objective: 'diagonal' });
      const dx = tf.grad((xx: tf.Tensor) => tf.sum(condition.logProb(xx as tf.Tensor4D)))(images);
      expect(maxDiff(dx.dataSync(), closedForm(lin, x, [[2, 1]], 'diagonal').grad)).toBeLessThan(1e-5);
      tf.dispose([images, dx]);
    });

    it('reads live weights: training the model after building the condition is seen', () => {
      const lin = linearWeights(3, 31);
      const model = linearModel(lin, 'fused');
      const condition = classCondition({ model, classIndex: 0, objective: 'logit' });
      const images = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
      const before = condition.logProb(images).dataSync()[0]!;
      expect(before).toBeCloseTo(lin.b[0]!, 5);
      const [w, b] = model.getWeights();
      const shifted = tf.add(b!, 1);
      model.setWeights([w!, shifted]);
      expect(condition.logProb(images).dataSync()[0]!).toBeCloseTo(before + 1, 5);
      tf.dispose([images, shifted]);
    });

    it('accepts a plain function and a function returning probabilities', () => {
      const lin = linearWeights(4, 41);
      const model = linearModel(lin, 'logits');
      const fn = (x: tf.Tensor) => model.apply(x) as tf.Tensor;
      const probs = (x: tf.Tensor) => tf.softmax(model.apply(x) as tf.Tensor);
      const images = new Rng(42).uniformTensor([2, 4, 4, 1]) as tf.Tensor4D;
      const a = classCondition({ model: fn, classIndex: 1, imageShape: [4, 4, 1] });
      const b = classCondition({ model: probs, classIndex: 1, output: 'probabilities' });
      const c = classCondition({ model, classIndex: 1 });
      expect(a.imageShape).toEqual([4, 4, 1]);
      expect(b.imageShape).toBeUndefined();
      const va = a.logProb(images).dataSync();
      const vb = b.logProb(images).dataSync();
      const vc = c.logProb(images).dataSync();
      expect(maxDiff(va, vc)).toBeLessThan(1e-5);
      expect(maxDiff(vb, vc)).toBeLessThan(1e-5);
      const ga = tf.grad((x: tf.Tensor) => tf.sum(a.logProb(x as tf.Tensor4D)))(images);
      const gb = tf.grad((x: tf.Tensor) => tf.sum(b.logProb(x as tf.Tensor4D)))(images);
      expect(maxDiff(ga.dataSync(), gb.dataSync())).toBeLessThan(1e-5);
      tf.dispose([images, ga, gb]);
    });
  });
}

describe('classCondition errors', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('names the valid range for an unknown class', () => {
    const model = denseClassifier([8, 8, 1], 5, 1);
    expect(() => classCondition({ model, classIndex: 5 })).toThrow(
      'classCondition: class 5 is out of range; the model has 5 classes, 0..4',
    );
    expect(() => classCondition({ model, classes: [{ index: 1 }, { index: -1 }] })).toThrow(/class -1 is out of range/);
    expect(() => classCondition({ model, classIndex: 1.5 })).toThrow(/class 1.5 is out of range/);
  });

  it('lists the class names for an unknown class, and looks classes up by name', () => {
    const model = denseClassifier([8, 8, 1], 3, 1);
    const classNames = ['cat', 'dog', 'fish'];
    expect(() => classCondition({ model, classIndex: 3, classNames })).toThrow(
      "classCondition: class 3 is out of range; the model has 3 classes, 0..2: 0 'cat', 1 'dog', 2 'fish'",
    );
    expect(() => classCondition({ model, classIndex: 'bird', classNames })).toThrow(
      "classCondition: no class named 'bird'; the classes are 'cat', 'dog', 'fish'",
    );
    const byName = classCondition({ model, classIndex: 'dog', classNames });
    expect(byName.id).toBe('class(dog)');
    expect(byName.describe()).toContain("class 1 'dog'");
    expect(() => classCondition({ model, classIndex: 0, classNames: ['a', 'b'] })).toThrow(
      /2 classNames for a model with 3 classes/,
    );
  });

  it('checks the class range at run time when a function hides the class count', () => {
    const fn = (x: tf.Tensor) => tf.reshape(x, [x.shape[0]!, -1]);
    const condition = classCondition({ model: fn, classIndex: 20, imageShape: [2, 2, 1] });
    const images = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    expect(() => condition.logProb(images)).toThrow('classCondition: class 20 is out of range; the model has 4 classes, 0..3');
    expect(tf.memory().numTensors).toBe(before);
    images.dispose();
  });

  it('refuses images of the wrong shape and says how to adapt them', () => {
    const model = convClassifier([28, 28, 1], 10, 1);
    expect(() => classCondition({ model, classIndex: 0, imageShape: [32, 32, 3] })).toThrow(
      'classCondition: model expects 28x28x1 images, condition was asked to accept 32x32x3; pass input: inputAdapter({ from: [32, 32, 3], to: [28, 28, 1] })',
    );
    expect(() =>
      classCondition({ model, classIndex: 0, input: inputAdapter({ from: [32, 32, 3], to: [28, 28, 3] }) }),
    ).toThrow('classCondition: the input adapter makes 28x28x3 images but the model expects 28x28x1 images');
    expect(() =>
      classCondition({
        model,
        classIndex: 0,
        imageShape: [16, 16, 3],
        input: inputAdapter({ from: [32, 32, 3], to: [28, 28, 1] }),
      }),
    ).toThrow("imageShape 16x16x3 differs from the input adapter's from 32x32x3");
    const condition = classCondition({ model, classIndex: 0 });
    expect(condition.imageShape).toEqual([28, 28, 1]);
    const wrong = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
    expect(() => condition.logProb(wrong)).toThrow('classCondition: expected 28x28x1 images, got 32x32x3');
    wrong.dispose();
  });

  it('needs an image shape for a vector-input model and checks its size', () => {
    const model = flatClassifier(64, 3, 1);
    expect(() => classCondition({ model, classIndex: 0 })).toThrow(/takes flat vectors of 64 values, not images; pass imageShape/);
    expect(() => classCondition({ model, classIndex: 0, imageShape: [4, 4, 3] })).toThrow(
      'classCondition: the model takes flat vectors of 64 values but 4x4x3 images have 48',
    );
  });

  it('refuses logit and diagonal objectives when only probabilities are available', () => {
    const probs = (x: tf.Tensor) => tf.softmax(tf.reshape(x, [x.shape[0]!, -1]));
    for (const objective of ['logit', 'diagonal'] as const) {
      expect(() => classCondition({ model: probs, classIndex: 0, output: 'probabilities', objective })).toThrow(
        `classCondition: objective '${objective}' needs the model's logits`,
      );
    }
  });

  it("refuses output: 'logits' on a model that ends in softmax", () => {
    const model = convClassifier([8, 8, 1], 3, 1);
    expect(() => classCondition({ model, classIndex: 0, output: 'logits' })).toThrow(
      "classCondition: output: 'logits' was given but the model's last layer 'probs' applies softmax",
    );
  });

  it('refuses a fused softmax it cannot read through', () => {
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 3, kernelSize: 4, activation: 'softmax', name: 'convsoft' }));
    m.add(tf.layers.flatten());
    // The flatten layer is last, so no softmax is detected: the output is taken as logits.
    expect(logitsModel(m).source.kind).toBe('output');
    const n = tf.sequential();
    n.add(tf.layers.flatten({ inputShape: [4, 4, 1] }));
    n.add(tf.layers.reshape({ targetShape: [16, 1] }));
    n.add(tf.layers.conv1d({ filters: 3, kernelSize: 16, activation: 'softmax', name: 'conv1dsoft' }));
    expect(() => logitsModel(n)).toThrow(/layer 'conv1dsoft' \(Conv1D\) applies a fused softmax that cannot be read through/);
  });

  it('needs exactly one of classIndex and classes, and finite weights', () => {
    const model = denseClassifier([8, 8, 1], 3, 1);
    expect(() => classCondition({ model })).toThrow('classCondition: give exactly one of classIndex and classes');
    expect(() => classCondition({ model, classIndex: 0, classes: [{ index: 1 }] })).toThrow(/exactly one/);
    expect(() => classCondition({ model, classes: [{ index: 1, weight: Number.NaN }] })).toThrow(/weight of class 1 is NaN/);
  });

  it('describes itself', () => {
    const model = convClassifier([28, 28, 1], 10, 1);
    const condition = classCondition({
      model,
      classes: [
        { index: 3, weight: 2 },
        { index: 5, weight: -1 },
      ],
      objective: 'diagonal',
      input: inputAdapter({ from: [32, 32, 3], to: [28, 28, 1] }),
    });
    expect(condition.id).toBe('classes(2*3+-1*5, diagonal)');
    expect(condition.describe()).toBe(
      "log p(class 2*3 + -1*5 | x) from LayersModel 'conv_classifier' (logits read through the softmax of its layer 'probs'), diagonal (official PPGN) gradient, through 32x32x3 -> 28x28x1 (bilinear, luminance)",
    );
  });
});
