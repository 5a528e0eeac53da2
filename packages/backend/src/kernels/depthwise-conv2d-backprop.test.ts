import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ConvCase,
  compareKernel,
  convOutShape,
  expectNoLeaks,
  randomConvCases,
  randomValues,
  relativeError,
  runKernelOn,
  seeded,
  setupBackends,
} from './test-utils.js';

function dilationPair(c: ConvCase): [number, number] {
  const d = c.dilations ?? 1;
  return typeof d === 'number' ? [d, d] : d;
}

/** The filter with (d - 1) zeros between taps: a dilated filter as an undilated one. */
function widenFilter(values: Float32Array, shape: number[], [dh, dw]: [number, number]) {
  const [kh, kw, c, m] = shape as [number, number, number, number];
  const eh = (kh - 1) * dh + 1;
  const ew = (kw - 1) * dw + 1;
  const depth = c * m;
  const wide = new Float32Array(eh * ew * depth);
  for (let a = 0; a < kh; a++)
    for (let b = 0; b < kw; b++)
      for (let i = 0; i < depth; i++) wide[(a * dh * ew + b * dw) * depth + i] = values[(a * kw + b) * depth + i] as number;
  return { shape: [eh, ew, c, m], values: wide };
}

/** The taps of a widened filter gradient that belong to the dilated filter. */
function narrowFilter(values: ArrayLike<number>, shape: number[], [dh, dw]: [number, number]): Float32Array {
  const [kh, kw, c, m] = shape as [number, number, number, number];
  const ew = (kw - 1) * dw + 1;
  const depth = c * m;
  const out = new Float32Array(kh * kw * depth);
  for (let a = 0; a < kh; a++)
    for (let b = 0; b < kw; b++)
      for (let i = 0; i < depth; i++) out[(a * kw + b) * depth + i] = values[(a * dh * ew + b * dw) * depth + i] as number;
  return out;
}

describe('DepthwiseConv2dNative gradients on wasm', () => {
  beforeAll(setupBackends);

  const cases = randomConvCases(50, 31, { depthwise: true, dilations: true });
  const undilated = cases.filter((c) => c.dilations === undefined);
  const dilated = cases.filter((c) => c.dilations !== undefined);

  it(`DepthwiseConv2dNativeBackpropInput matches cpu on ${undilated.length} random cases`, async () => {
    const rand = seeded(1);
    for (const c of undilated) {
      const dyShape = convOutShape(c, true);
      const { error } = await compareKernel(
        'DepthwiseConv2dNativeBackpropInput',
        { dy: { shape: dyShape, values: randomValues(dyShape, rand) }, filter: { shape: c.filter, values: randomValues(c.filter, rand) } },
        { strides: c.strides, dilations: 1, pad: c.pad, dimRoundingMode: c.dimRoundingMode, inputShape: c.x },
      );
      expect(error, JSON.stringify(c)).toBeLessThan(1e-4);
    }
  });

  it(`DepthwiseConv2dNativeBackpropFilter matches cpu on ${undilated.length} random cases`, async () => {
    const rand = seeded(2);
    for (const c of undilated) {
      const dyShape = convOutShape(c, true);
      const { error } = await compareKernel(
        'DepthwiseConv2dNativeBackpropFilter',
        { x: { shape: c.x, values: randomValues(c.x, rand) }, dy: { shape: dyShape, values: randomValues(dyShape, rand) } },
        { strides: c.strides, dilations: 1, pad: c.pad, dimRoundingMode: c.dimRoundingMode, filterShape: c.filter },
      );
      expect(error, JSON.stringify(c)).toBeLessThan(1e-4);
    }
  });

  it(`both honour dilations on ${dilated.length} cases (checked against the widened filter on cpu)`, async () => {
    const rand = seeded(3);
    expect(dilated.length).toBeGreaterThan(5);
    for (const c of dilated) {
      const d = dilationPair(c);
      const dyShape = convOutShape(c, true);
      const dy = { shape: dyShape, values: randomValues(dyShape, rand) };
      const filter = { shape: c.filter, values: randomValues(c.filter, rand) };
      const wide = widenFilter(filter.values, c.filter, d);
      const common = { strides: c.strides, pad: c.pad, dimRoundingMode: c.dimRoundingMode };

      const dxWasm = await runKernelOn('wasm', 'DepthwiseConv2dNativeBackpropInput', { dy, filter }, { ...common, dilations: d, inputShape: c.x });
      const dxCpu = await runKernelOn('cpu', 'DepthwiseConv2dNativeBackpropInput', { dy, filter: wide }, { ...common, dilations: 1, inputShape: c.x });
      expect(relativeError(dxWasm.values, dxCpu.values), `input ${JSON.stringify(c)}`).toBeLessThan(1e-4);

      const x = { shape: c.x, values: randomValues(c.x, rand) };
      const dwWasm = await runKernelOn('wasm', 'DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...common, dilations: d, filterShape: c.filter });
      const dwCpu = await runKernelOn('cpu', 'DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...common, dilations: 1, filterShape: wide.shape });
      expect(dwWasm.shape).toEqual(c.filter);
      expect(relativeError(dwWasm.values, narrowFilter(dwCpu.values, c.filter, d)), `filter ${JSON.stringify(c)}`).toBeLessThan(1e-4);
    }
  });

  it('train a depthwise layer: gradients equal to cpu', async () => {
    const rand = seeded(4);
    const xv = randomValues([3, 12, 12, 8], rand);
    const fv = randomValues([3, 3, 8, 2], rand);
    const grads = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor4d(xv, [3, 12, 12, 8]);
        const f = tf.tensor4d(fv, [3, 3, 8, 2]);
        const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.square(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))),
        )([x, f]);
        return [gx?.dataSync(), gf?.dataSync()] as Float32Array[];
      });
    };
    const cpu = await grads('cpu');
    const wasm = await grads('wasm');
    for (let i = 0; i < 2; i++) expect(relativeError(wasm[i] as Float32Array, cpu[i] as Float32Array)).toBeLessThan(1e-4);
  });

  it('leaks no tensors or wasm buffers', async () => {
    const x = tf.randomNormal([2, 8, 8, 3]);
    const dy = tf.randomNormal([2, 4, 4, 6]);
    const filter = tf.randomNormal([3, 3, 3, 2]);
    const attrs = { strides: 2, dilations: 1, pad: 'same' };
    await expectNoLeaks(() => {
      tf.dispose(tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter }, { ...attrs, inputShape: [2, 8, 8, 3] }));
      tf.dispose(tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: [3, 3, 3, 2] }));
    });
    tf.dispose([x, dy, filter]);
  });
});
