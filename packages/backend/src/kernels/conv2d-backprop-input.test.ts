import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BackpropInputMethod, type Conv2DBackpropInputArgs, conv2dBackpropInput } from './conv2d-backprop-input.js';
import {
  type ConvCase,
  compareKernel,
  convOutShape,
  expectNoLeaks,
  randomConvCases,
  randomValues,
  relativeError,
  runKernelOn,
  runOnWasmBackend,
  seeded,
  setupBackends,
} from './test-utils.js';

function inputsFor(c: ConvCase, rand: () => number) {
  const dyShape = convOutShape(c);
  return {
    dy: { shape: dyShape, values: randomValues(dyShape, rand) },
    filter: { shape: c.filter, values: randomValues(c.filter, rand) },
  };
}

function attrsFor(c: ConvCase) {
  return { strides: c.strides, pad: c.pad, dataFormat: 'NHWC' as const, dimRoundingMode: c.dimRoundingMode, inputShape: c.x };
}

async function viaMethod(c: ConvCase, inputs: ReturnType<typeof inputsFor>, method: BackpropInputMethod) {
  return runOnWasmBackend(
    (t, backend) =>
      conv2dBackpropInput(
        { inputs: { dy: t.dy, filter: t.filter }, attrs: { ...attrsFor(c), dilations: c.dilations }, backend } as Conv2DBackpropInputArgs,
        method,
      ),
    inputs,
  );
}

describe('Conv2DBackpropInput on wasm', () => {
  beforeAll(setupBackends);

  const cases = randomConvCases(60, 21);
  it(`the registered kernel matches cpu on ${cases.length} random shapes, strides and paddings`, async () => {
    const rand = seeded(4);
    for (const c of cases) {
      const { error } = await compareKernel('Conv2DBackpropInput', inputsFor(c, rand), attrsFor(c));
      expect(error, JSON.stringify(c)).toBeLessThan(1e-4);
    }
  });

  it('both methods (stride phases, zero insertion) match cpu on every case', async () => {
    const rand = seeded(8);
    for (const c of cases) {
      const inputs = inputsFor(c, rand);
      const cpu = await runKernelOn('cpu', 'Conv2DBackpropInput', inputs, attrsFor(c));
      for (const method of ['phases', 'zero-insert'] as const) {
        const wasm = await viaMethod(c, inputs, method);
        expect(wasm.shape).toEqual(cpu.shape);
        expect(relativeError(wasm.values, cpu.values), `${method} ${JSON.stringify(c)}`).toBeLessThan(1e-4);
      }
    }
  });

  it('honours dilations (checked against the zero-inserted filter on cpu)', async () => {
    const rand = seeded(9);
    for (const c of randomConvCases(30, 13, { dilations: true }).filter((k) => k.dilations !== undefined)) {
      const [dh, dw] = typeof c.dilations === 'number' ? [c.dilations, c.dilations] : (c.dilations as [number, number]);
      const [kh, kw, ci, co] = c.filter;
      const inputs = inputsFor(c, rand);
      const eh = (kh - 1) * dh + 1;
      const ew = (kw - 1) * dw + 1;
      const wide = new Float32Array(eh * ew * ci * co);
      for (let a = 0; a < kh; a++)
        for (let b = 0; b < kw; b++)
          for (let i = 0; i < ci * co; i++) wide[(a * dh * ew + b * dw) * ci * co + i] = inputs.filter.values[(a * kw + b) * ci * co + i] as number;
      const cpu = await runKernelOn('cpu', 'Conv2DBackpropInput', { dy: inputs.dy, filter: { shape: [eh, ew, ci, co], values: wide } }, attrsFor(c));
      const wasm = await viaMethod(c, inputs, 'auto');
      expect(wasm.shape).toEqual(cpu.shape);
      expect(relativeError(wasm.values, cpu.values), JSON.stringify(c)).toBeLessThan(1e-4);
    }
  });

  it('matches cpu for NCHW data', async () => {
    const rand = seeded(3);
    for (const strides of [1, 2] as const) {
      const dyShape = strides === 1 ? [2, 4, 9, 8] : [2, 4, 5, 4];
      const { error } = await compareKernel(
        'Conv2DBackpropInput',
        { dy: { shape: dyShape, values: randomValues(dyShape, rand) }, filter: { shape: [3, 3, 3, 4], values: randomValues([3, 3, 3, 4], rand) } },
        { strides, pad: 'same', dataFormat: 'NCHW', inputShape: [2, 3, 9, 8] },
      );
      expect(error).toBeLessThan(1e-4);
    }
  });

  it('makes conv2dTranspose equal to cpu (a generator-sized layer)', async () => {
    const rand = seeded(12);
    const x = { shape: [4, 8, 8, 16], values: randomValues([4, 8, 8, 16], rand) };
    const w = { shape: [4, 4, 8, 16], values: randomValues([4, 4, 8, 16], rand) };
    const run = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      return tf.tidy(() =>
        tf.conv2dTranspose(tf.tensor4d(x.values, x.shape as [number, number, number, number]), tf.tensor4d(w.values, w.shape as [number, number, number, number]), [4, 16, 16, 8], 2, 'same').dataSync(),
      );
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    expect(relativeError(wasm, cpu)).toBeLessThan(1e-4);
  });

  it('leaks no tensors or wasm buffers', async () => {
    const dy = tf.randomNormal([2, 4, 4, 5]);
    const filter = tf.randomNormal([3, 3, 3, 5]);
    const cases: [number | [number, number], number[], number][] = [
      [1, [2, 4, 4, 3], 1],
      [2, [2, 8, 8, 3], 1],
      [[1, 2], [2, 4, 8, 3], 1],
      [1, [2, 4, 4, 3], 2],
    ];
    for (const [strides, inputShape, dilations] of cases) {
      await expectNoLeaks(() => {
        tf.dispose(tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { strides, pad: 'same', dataFormat: 'NHWC', inputShape, dilations }));
      });
    }
    tf.dispose([dy, filter]);
  });
});
