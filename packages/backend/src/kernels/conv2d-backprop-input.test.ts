import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BackpropInputMethod, type Conv2DBackpropInputArgs, clearFilterCache, conv2dBackpropInput } from './conv2d-backprop-input.js';
import {
  type ConvCase,
  compareKernel,
  convOutShape,
  expectNoLeaks,
  pick,
  randomConvCases,
  randomValues,
  relativeError,
  runKernelOn,
  runOnWasmBackend,
  seeded,
  setupBackends,
  wasmDataIds,
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

  it('every method (phase convs, one phase conv, zero insertion) matches cpu on every case', async () => {
    const rand = seeded(8);
    for (const c of cases) {
      const inputs = inputsFor(c, rand);
      const cpu = await runKernelOn('cpu', 'Conv2DBackpropInput', inputs, attrsFor(c));
      for (const method of ['phase-convs', 'phases', 'zero-insert'] as const) {
        const wasm = await viaMethod(c, inputs, method);
        expect(wasm.shape).toEqual(cpu.shape);
        expect(relativeError(wasm.values, cpu.values), `${method} ${JSON.stringify(c)}`).toBeLessThan(1e-4);
      }
    }
  });

  it('every method matches cpu on wide layers (16-48 channels, strides 2-3, generator and classifier filters)', async () => {
    const rand = seeded(15);
    const wide: ConvCase[] = [];
    for (const c of randomConvCases(40, 23)) {
      if (c.dilations !== undefined || c.x[1] > 12 || c.x[2] > 12) continue;
      const inC = pick([16, 24, 48], rand);
      wide.push({ ...c, strides: pick([2, 2, 3, [2, 3]], rand) as ConvCase['strides'], x: [c.x[0], c.x[1], c.x[2], inC], filter: [c.filter[0], c.filter[1], inC, pick([8, 16], rand)] });
    }
    wide.push({ x: [2, 8, 8, 16], filter: [4, 4, 16, 32], strides: 2, pad: 'same' }, { x: [2, 8, 8, 32], filter: [3, 3, 32, 16], strides: 2, pad: 'same' });
    const valid = wide.filter((c) => convOutShape(c).every((d) => d > 0));
    expect(valid.length).toBeGreaterThan(10);
    for (const c of valid) {
      const inputs = inputsFor(c, rand);
      const cpu = await runKernelOn('cpu', 'Conv2DBackpropInput', inputs, attrsFor(c));
      for (const method of ['auto', 'phase-convs', 'phases'] as const) {
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

  it('keeps the rearranged filters of a weight while it lives, and drops them once it is freed', async () => {
    await tf.setBackend('wasm');
    clearFilterCache();
    const dy = tf.randomNormal([2, 4, 4, 16]);
    const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: [2, 8, 8, 24] };
    const run = (filter: tf.Tensor) => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, attrs) as tf.Tensor;
    const filter = tf.randomNormal([4, 4, 24, 16]); // 24 channels: one conv per stride phase, 4 phase filters
    const start = wasmDataIds();
    const first = run(filter);
    expect(wasmDataIds() - start).toBe(1 + 4); // the result and the 4 cached phase filters
    const second = run(filter);
    expect(wasmDataIds() - start).toBe(2 + 4); // only the new result
    expect(Array.from(second.dataSync())).toEqual(Array.from(first.dataSync()));
    tf.dispose([first, second, filter]);
    const other = tf.randomNormal([4, 4, 24, 16]);
    const third = run(other); // drops the freed weight's filters, caches the new one's
    expect(wasmDataIds() - start).toBe(-1 + 1 + 4 + 1);
    tf.dispose([third, other]);
    clearFilterCache();
    expect(wasmDataIds() - start).toBe(-1);
    dy.dispose();
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
    // wide enough for one conv per phase, with a cropped gradient (explicit padding past the filter)
    const wideFilter = tf.randomNormal([3, 3, 16, 5]);
    const dyCropped = tf.randomNormal([2, 3, 3, 5]);
    const wide: [tf.Tensor, unknown, number[]][] = [
      [dy, 'same', [2, 8, 8, 16]],
      [dyCropped, [[0, 0], [4, 0], [0, 3], [0, 0]], [2, 4, 4, 16]],
    ];
    for (const [g, pad, inputShape] of wide) {
      await expectNoLeaks(() => {
        tf.dispose(tf.engine().runKernel('Conv2DBackpropInput', { dy: g, filter: wideFilter }, { strides: 2, pad, dataFormat: 'NHWC', inputShape } as tf.NamedAttrMap));
      });
    }
    tf.dispose([dy, filter, wideFilter, dyCropped]);
  });
});
