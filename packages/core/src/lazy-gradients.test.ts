import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type LazyRoute, withLazyLayerGradients, withLazyLayerGradientsVia } from './lazy-gradients.js';

/** Conv and dense layers with linear activations (so tfjs keeps them fused inside gradients). */
function model(): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 2], filters: 4, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init(1), biasInitializer: 'ones' }),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, kernelInitializer: init(2), biasInitializer: 'ones' }),
    ],
  });
}

/** The input gradient of sum(model(x)) and the kernels its backward pass ran. */
async function inputGradient(m: tf.LayersModel, x: tf.Tensor, lazy: LazyRoute | false): Promise<{ grad: Float32Array; kernels: string[] }> {
  let grad: Float32Array = new Float32Array();
  const take = () => {
    const g = tf.grad((input: tf.Tensor) => tf.sum(m.apply(input) as tf.Tensor))(x);
    grad = g.dataSync() as Float32Array;
    g.dispose();
  };
  const info = await tf.profile(() => (lazy ? withLazyLayerGradientsVia(lazy, take) : take()));
  return { grad, kernels: info.kernels.map((k) => k.name) };
}

describe('withLazyLayerGradients', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  for (const route of ['fused-ops', 'layer-calls'] as const) {
    it(`gives the same input gradient without computing weight gradients (${route})`, async () => {
      const m = model();
      const x = tf.randomNormal([2, 8, 8, 2], 0, 1, 'float32', 3);
      const start = tf.memory().numTensors;
      const fused = await inputGradient(m, x, false);
      const lazy = await inputGradient(m, x, route);
      expect(tf.memory().numTensors).toBe(start);
      for (const [i, v] of lazy.grad.entries()) expect(v).toBeCloseTo(fused.grad[i]!, 5);
      // tfjs's fused ops compute the filter gradient (and the dense weight product) eagerly
      expect(fused.kernels).toContain('Conv2DBackpropFilter');
      expect(lazy.kernels).not.toContain('Conv2DBackpropFilter');
      // dense: forward, dx and dW products fused; forward and dx only when lazy
      const products = (kernels: string[]) => kernels.filter((k) => k.endsWith('MatMul')).length;
      expect(products(fused.kernels)).toBe(3);
      expect(products(lazy.kernels)).toBe(2);
      tf.dispose(x);
      m.dispose();
    });

    it(`leaves forward values and weight gradients (training) as they were (${route})`, () => {
      const m = model();
      const x = tf.randomNormal([2, 8, 8, 2], 0, 1, 'float32', 4);
      const plain = (m.predict(x) as tf.Tensor).arraySync() as number[][];
      const lazy = withLazyLayerGradientsVia(route, () => (m.predict(x) as tf.Tensor).arraySync() as number[][]);
      expect(lazy).toEqual(plain);
      const weightGrads = () => {
        const { value, grads } = tf.variableGrads(() => tf.sum(m.apply(x) as tf.Tensor) as tf.Scalar);
        const out = Object.values(grads).map((g) => Array.from(g.dataSync()));
        tf.dispose([value, ...Object.values(grads)]);
        return out;
      };
      const fusedGrads = weightGrads();
      const lazyGrads = withLazyLayerGradientsVia(route, weightGrads);
      for (const [i, g] of lazyGrads.entries()) for (const [j, v] of g.entries()) expect(v).toBeCloseTo(fusedGrads[i]![j]!, 5);
      tf.dispose(x);
      m.dispose();
    });
  }

  it('puts the fused ops back after it returns, throws or nests', () => {
    const { conv2d, matMul } = tf.fused;
    expect(() =>
      withLazyLayerGradients(() => {
        withLazyLayerGradients(() => {
          expect(tf.fused.conv2d).not.toBe(conv2d);
        });
        // still swapped: the outer call has not returned
        expect(tf.fused.matMul).not.toBe(matMul);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(tf.fused.conv2d).toBe(conv2d);
    expect(tf.fused.matMul).toBe(matMul);
  });

  it('puts the layer calls back after it returns or throws, and keeps activations (sigmoid: unfusable, so its conv stayed fused)', async () => {
    const convCall = Object.getPrototypeOf(Object.getPrototypeOf(tf.layers.conv2d({ filters: 1, kernelSize: 1 }))).call;
    const denseCall = Object.getPrototypeOf(tf.layers.dense({ units: 1 })).call;
    expect(() =>
      withLazyLayerGradientsVia('layer-calls', () => {
        expect(Object.getPrototypeOf(tf.layers.dense({ units: 1 })).call).not.toBe(denseCall);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(Object.getPrototypeOf(Object.getPrototypeOf(tf.layers.conv2d({ filters: 1, kernelSize: 1 }))).call).toBe(convCall);
    expect(Object.getPrototypeOf(tf.layers.dense({ units: 1 })).call).toBe(denseCall);
    for (const activation of ['relu', 'sigmoid', 'tanh'] as const) {
      const m = tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, activation, kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 2, activation, kernelInitializer: tf.initializers.glorotUniform({ seed: 9 }) }),
        ],
      });
      const x = tf.randomNormal([1, 6, 6, 2], 0, 1, 'float32', 8);
      const plain = await inputGradient(m, x, false);
      const lazy = await inputGradient(m, x, 'layer-calls');
      for (const [i, v] of lazy.grad.entries()) expect(v, activation).toBeCloseTo(plain.grad[i]!, 6);
      expect(lazy.kernels, activation).not.toContain('Conv2DBackpropFilter');
      // tfjs fuses relu into the conv, and so unfuses it inside gradients; sigmoid it applies after a linear fused conv
      if (activation !== 'relu') expect(plain.kernels, activation).toContain('Conv2DBackpropFilter');
      tf.dispose(x);
      m.dispose();
    }
  });
});
