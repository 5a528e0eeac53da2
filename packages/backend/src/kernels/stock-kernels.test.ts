import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  compareKernel,
  convOutShape,
  pick,
  randomConvCases,
  randomValues,
  relativeError,
  runKernelOn,
  seeded,
  setupBackends,
} from './test-utils.js';

/**
 * The stock wasm kernels that training relies on and that this package keeps: each is
 * checked against cpu here so that a regression (like the stock MaxPoolGrad one) shows up.
 */
describe('stock wasm kernels used in training', () => {
  beforeAll(setupBackends);
  const rand = seeded(77);

  it('Conv2D and FusedConv2D (bias + LeakyReLU) match cpu', async () => {
    // XNNPACK always floors the output size: 'round' / 'ceil' give tfjs a larger output
    // than the stock conv fills, so those rounding modes are left out here.
    const cases = randomConvCases(25, 41, { dilations: true }).filter((c) => (c.dimRoundingMode ?? 'floor') === 'floor');
    for (const c of cases) {
      const x = { shape: c.x, values: randomValues(c.x, rand) };
      const filter = { shape: c.filter, values: randomValues(c.filter, rand) };
      const attrs = { strides: c.strides, pad: c.pad, dilations: c.dilations ?? 1, dimRoundingMode: c.dimRoundingMode, dataFormat: 'NHWC' };
      expect((await compareKernel('Conv2D', { x, filter }, attrs)).error, JSON.stringify(c)).toBeLessThan(1e-4);
      const bias = { shape: [c.filter[3]], values: randomValues([c.filter[3]], rand) };
      const fused = await compareKernel('FusedConv2D', { x, filter, bias }, { ...attrs, activation: 'leakyrelu', leakyreluAlpha: 0.2 });
      expect(fused.error, JSON.stringify(c)).toBeLessThan(1e-4);
    }
  });

  it('DepthwiseConv2dNative matches cpu', async () => {
    for (const c of randomConvCases(20, 43, { depthwise: true }).filter((k) => (k.dimRoundingMode ?? 'floor') === 'floor')) {
      const { error } = await compareKernel(
        'DepthwiseConv2dNative',
        { x: { shape: c.x, values: randomValues(c.x, rand) }, filter: { shape: c.filter, values: randomValues(c.filter, rand) } },
        { strides: c.strides, pad: c.pad, dilations: 1, dimRoundingMode: c.dimRoundingMode, dataFormat: 'NHWC' },
      );
      expect(error, JSON.stringify(c)).toBeLessThan(1e-4);
      expect(convOutShape(c, true).length).toBe(4);
    }
  });

  it('MaxPool, AvgPool and AvgPoolGrad match cpu', async () => {
    for (let k = 0; k < 20; ) {
      const f = pick([1, 2, 3], rand);
      const pad = pick(['same', 'valid'] as const, rand);
      const strides = pick([1, 2, [2, 1]] as const, rand);
      const x = [pick([1, 3], rand), f + pick([0, 1, 4], rand), f + pick([0, 3], rand), pick([1, 4], rand)] as [number, number, number, number];
      const info = tf.backend_util.computePool2DInfo(x, [f, pick([f, 2], rand)], strides as number | [number, number], 1, pad);
      if (info.outShape.some((d) => d <= 0)) continue;
      k++;
      const filterSize = [info.filterHeight, info.filterWidth];
      const xv = { shape: x, values: randomValues(x, rand) };
      const attrs = { filterSize, strides, pad };
      expect((await compareKernel('MaxPool', { x: xv }, attrs)).error).toBeLessThan(1e-4);
      expect((await compareKernel('AvgPool', { x: xv }, attrs)).error).toBeLessThan(1e-4);
      const dy = { shape: info.outShape, values: randomValues(info.outShape, rand) };
      expect((await compareKernel('AvgPoolGrad', { dy, input: xv }, attrs)).error, JSON.stringify({ x, attrs })).toBeLessThan(1e-4);
    }
  });

  it('ResizeBilinear and ResizeBilinearGrad match cpu (all corner modes)', async () => {
    for (const [alignCorners, halfPixelCenters] of [
      [false, false],
      [true, false],
      [false, true],
    ]) {
      for (const [from, to] of [
        [[2, 4, 4, 3], [8, 8]],
        [[1, 5, 7, 2], [16, 9]],
        [[2, 9, 6, 1], [4, 3]],
      ] as const) {
        const images = { shape: [...from], values: randomValues([...from], rand) };
        const attrs = { alignCorners, halfPixelCenters, size: to };
        expect((await compareKernel('ResizeBilinear', { images }, attrs)).error).toBeLessThan(1e-4);
        const dyShape = [from[0], to[0], to[1], from[3]];
        const dy = { shape: dyShape, values: randomValues(dyShape, rand) };
        // The cpu kernel labels its result [N, W, H, C] (values laid out as [N, H, W, C]),
        // so compare values and check the wasm shape on its own.
        const cpu = await runKernelOn('cpu', 'ResizeBilinearGrad', { images, dy }, { alignCorners, halfPixelCenters });
        const wasm = await runKernelOn('wasm', 'ResizeBilinearGrad', { images, dy }, { alignCorners, halfPixelCenters });
        expect(wasm.shape).toEqual([...from]);
        expect(relativeError(wasm.values, cpu.values)).toBeLessThan(1e-4);
      }
    }
  });

  it('BatchMatMul with transposes, LeakyRelu, Prelu and FusedBatchNorm match cpu', async () => {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ]) {
      const a = ta ? [3, 7, 5] : [3, 5, 7];
      const b = tb ? [3, 4, 7] : [3, 7, 4];
      const { error } = await compareKernel(
        'BatchMatMul',
        { a: { shape: a, values: randomValues(a, rand) }, b: { shape: b, values: randomValues(b, rand) } },
        { transposeA: ta, transposeB: tb },
      );
      expect(error).toBeLessThan(1e-4);
    }
    const x = { shape: [2, 5, 5, 3], values: randomValues([2, 5, 5, 3], rand) };
    expect((await compareKernel('LeakyRelu', { x }, { alpha: 0.2 })).error).toBeLessThan(1e-4);
    expect((await compareKernel('Prelu', { x, alpha: { shape: [3], values: randomValues([3], rand) } }, {})).error).toBeLessThan(1e-4);
    const v = (s: number) => ({ shape: [3], values: randomValues([3], rand).map((t) => t + s) });
    const bn = await compareKernel('FusedBatchNorm', { x, mean: v(0), variance: v(2), offset: v(0), scale: v(1) }, { varianceEpsilon: 1e-3 });
    expect(bn.error).toBeLessThan(1e-4);
  });

  it('batch-norm, LeakyReLU, sigmoid, tanh and softmax gradients match cpu', async () => {
    const xv = randomValues([4, 6, 6, 5], rand);
    const p = [randomValues([5], rand), randomValues([5], rand).map((t) => t + 2), randomValues([5], rand), randomValues([5], rand)];
    const grads = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const f = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, s: tf.Tensor) => {
          const moments = tf.moments(x, [0, 1, 2]);
          const y = tf.batchNorm(x, tf.add(moments.mean, m), tf.add(moments.variance, v), o, s, 1e-3);
          const z = tf.leakyRelu(y, 0.2);
          return tf.sum(tf.mul(tf.softmax(tf.reshape(tf.tanh(z), [-1, 5])), tf.sigmoid(tf.reshape(z, [-1, 5]))));
        };
        const inputs = [tf.tensor4d(xv, [4, 6, 6, 5]), ...p.map((t) => tf.tensor1d(t))];
        const g = tf.grads(f as (...args: tf.Tensor[]) => tf.Tensor)(inputs);
        return g.map((t) => t.dataSync());
      });
    };
    const cpu = await grads('cpu');
    const wasm = await grads('wasm');
    for (const [i, c] of cpu.entries()) expect(relativeError(wasm[i] as Float32Array, c)).toBeLessThan(1e-4);
  });
});
