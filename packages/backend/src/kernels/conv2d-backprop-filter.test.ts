import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BackpropFilterMethod, conv2dBackpropFilter } from './conv2d-backprop-filter.js';
import {
  compareKernel,
  convOutShape,
  expectNoLeaks,
  type Pad2D,
  randomConvCases,
  randomValues,
  relativeError,
  runKernelOn,
  runOnWasmBackend,
  seeded,
  setupBackends,
} from './test-utils.js';

describe('Conv2DBackpropFilter on wasm', () => {
  beforeAll(setupBackends);

  const cases = randomConvCases(60, 7);
  it(`matches cpu on ${cases.length} random shapes, strides and paddings`, async () => {
    const rand = seeded(11);
    let worst = 0;
    for (const c of cases) {
      const dyShape = convOutShape(c);
      const inputs = {
        x: { shape: c.x, values: randomValues(c.x, rand) },
        dy: { shape: dyShape, values: randomValues(dyShape, rand) },
      };
      const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: c.dimRoundingMode, filterShape: c.filter };
      const { error } = await compareKernel('Conv2DBackpropFilter', inputs, attrs);
      expect(error, JSON.stringify(c)).toBeLessThan(1e-4);
      worst = Math.max(worst, error);
    }
    expect(worst).toBeLessThan(1e-4);
  });

  it('both methods (GEMM over stride phases, transposed conv) match cpu, the GEMM also in batch chunks', async () => {
    const rand = seeded(13);
    const wide = randomConvCases(40, 17, { dilations: true }).map((c, i) =>
      i % 3 ? c : { ...c, x: [c.x[0], c.x[1], c.x[2], 16] as typeof c.x, filter: [c.filter[0], c.filter[1], 16, c.filter[3]] as typeof c.filter },
    );
    for (const c of wide) {
      const dyShape = convOutShape(c);
      const inputs = {
        x: { shape: c.x, values: randomValues(c.x, rand) },
        dy: { shape: dyShape, values: randomValues(dyShape, rand) },
      };
      const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC' as const, dimRoundingMode: c.dimRoundingMode, filterShape: c.filter };
      const dilated = { ...attrs, dilations: c.dilations };
      // cpu has no dilations attribute here: compare dilated cases between the two methods
      const reference = c.dilations === undefined ? await runKernelOn('cpu', 'Conv2DBackpropFilter', inputs, attrs) : undefined;
      const runs: [BackpropFilterMethod, { chunkFloats?: number; blockCells?: number }][] = [
        ['gemm', {}],
        ['gemm', { chunkFloats: 1, blockCells: 7 }],
        ['transposed-conv', {}],
      ];
      const results = [];
      for (const [method, tune] of runs) {
        results.push(
          await runOnWasmBackend((t, backend) => conv2dBackpropFilter({ inputs: { x: t.x!, dy: t.dy! }, attrs: dilated, backend }, method, tune), inputs),
        );
      }
      for (const [i, r] of results.entries()) {
        const label = `${runs[i]![0]} ${JSON.stringify(runs[i]![1])} ${JSON.stringify(c)}`;
        expect(r.shape, label).toEqual(c.filter);
        expect(relativeError(r.values, (reference ?? results[2]!).values), label).toBeLessThan(1e-4);
      }
    }
  });

  it('matches cpu for NCHW data', async () => {
    const rand = seeded(3);
    const x = [2, 3, 9, 8];
    const dy = [2, 4, 5, 4];
    const { error } = await compareKernel(
      'Conv2DBackpropFilter',
      { x: { shape: x, values: randomValues(x, rand) }, dy: { shape: dy, values: randomValues(dy, rand) } },
      { strides: 2, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] },
    );
    expect(error).toBeLessThan(1e-4);
  });

  it('honours a dilations attribute (checked against the zero-inserted filter on cpu)', async () => {
    const rand = seeded(5);
    for (const [d, s, pad] of [[2, 1, 'valid'], [2, 1, 'same'], [3, 1, [[0, 0], [2, 1], [1, 3], [0, 0]]], [2, 2, 'valid']] as const) {
      const k = 3;
      const ke = (k - 1) * d + 1;
      const x: [number, number, number, number] = [2, 13, 12, 3];
      const dyShape = convOutShape({ x, filter: [k, k, 3, 4], strides: s, pad: pad as Pad2D, dilations: d });
      const inputs = { x: { shape: x, values: randomValues(x, rand) }, dy: { shape: dyShape, values: randomValues(dyShape, rand) } };
      const wasm = await runKernelOn('wasm', 'Conv2DBackpropFilter', inputs, {
        strides: s, pad, dataFormat: 'NHWC', filterShape: [k, k, 3, 4], dilations: d,
      });
      const cpu = await runKernelOn('cpu', 'Conv2DBackpropFilter', inputs, {
        strides: s, pad, dataFormat: 'NHWC', filterShape: [ke, ke, 3, 4],
      });
      const picked = new Float32Array(k * k * 12);
      for (let a = 0; a < k; a++)
        for (let b = 0; b < k; b++)
          for (let i = 0; i < 12; i++) picked[(a * k + b) * 12 + i] = cpu.values[(a * d * ke + b * d) * 12 + i] as number;
      expect(wasm.shape).toEqual([k, k, 3, 4]);
      expect(relativeError(wasm.values, picked)).toBeLessThan(1e-4);
    }
  });

  it('leaks no tensors or wasm buffers', async () => {
    const x = tf.randomNormal([2, 8, 8, 3]);
    const dy = tf.randomNormal([2, 4, 4, 5]);
    await expectNoLeaks(() => {
      tf.dispose(tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 5] }));
    });
    const wide = tf.randomNormal([2, 8, 8, 16]);
    const dy1 = tf.randomNormal([2, 8, 8, 5]);
    const backend = tf.backend() as Parameters<typeof conv2dBackpropFilter>[0]['backend'];
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 16, 5] } as const;
    for (const method of ['gemm', 'transposed-conv'] as const) {
      await expectNoLeaks(() => {
        const out = conv2dBackpropFilter({ inputs: { x: wide, dy: dy1 }, attrs: { ...attrs, filterShape: [3, 3, 16, 5] }, backend }, method, {
          chunkFloats: 1,
          blockCells: 30,
        });
        backend.disposeData(out.dataId);
      });
    }
    tf.dispose([x, dy, wide, dy1]);
  });
});
