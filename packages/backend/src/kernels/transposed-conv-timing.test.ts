import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { conv2dBackpropFilter } from './conv2d-backprop-filter.js';
import { type Conv2DBackpropInputArgs, conv2dBackpropInput } from './conv2d-backprop-input.js';
import { registerWasmTrainingKernels, stockWasmKernel } from './register.js';
import { setupBackends } from './test-utils.js';

/**
 * Timings of the stock and new input gradient on a generator-sized layer: batch 16,
 * 16x16x64 -> 32x32x32, 4x4 filter, stride 2, 'same' (conv2dTranspose's forward pass is this
 * kernel). Slow, so only run on request: `PPGN_BENCH=1 pnpm vitest run src/kernels/transposed-conv-timing`.
 * Candidates run interleaved, round by round, and report the median, so background load
 * hits them alike.
 */
describe.skipIf(!process.env.PPGN_BENCH)('transposed conv timings (PPGN_BENCH=1)', () => {
  const rounds = 9;
  let backend: BackendWasm;
  let dy: tf.Tensor4D;
  let filter: tf.Tensor4D;
  let x: tf.Tensor4D;
  let dy1: tf.Tensor4D;
  let filter1: tf.Tensor4D;
  const attrs: Conv2DBackpropInputArgs['attrs'] = { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: [16, 32, 32, 32] };

  function withStockKernel(body: () => void): void {
    const stock = stockWasmKernel('Conv2DBackpropInput');
    if (!stock) throw new Error('the stock Conv2DBackpropInput was not recorded');
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    tf.registerKernel(stock);
    try {
      body();
    } finally {
      registerWasmTrainingKernels();
    }
  }

  const candidates: Record<string, () => void> = {
    'Conv2DBackpropInput, stock wasm kernel': () => {
      const out = stockWasmKernel('Conv2DBackpropInput')?.kernelFunc({ inputs: { dy, filter }, attrs: attrs as unknown as tf.NamedAttrMap, backend }) as tf.TensorInfo;
      backend.disposeData(out.dataId);
    },
    'Conv2DBackpropInput, new (one conv per stride phase, the default here)': () =>
      backend.disposeData(conv2dBackpropInput({ inputs: { dy, filter }, attrs, backend }, 'phase-convs').dataId),
    'Conv2DBackpropInput, new (all stride phases in one conv)': () =>
      backend.disposeData(conv2dBackpropInput({ inputs: { dy, filter }, attrs, backend }, 'phases').dataId),
    'Conv2DBackpropInput, new (zero-inserted gradient)': () =>
      backend.disposeData(conv2dBackpropInput({ inputs: { dy, filter }, attrs, backend }, 'zero-insert').dataId),
    'tf.conv2dTranspose, stock kernel': () => withStockKernel(() => tf.conv2dTranspose(dy, filter, [16, 32, 32, 32], 2, 'same').dispose()),
    'tf.conv2dTranspose, new kernel': () => tf.conv2dTranspose(dy, filter, [16, 32, 32, 32], 2, 'same').dispose(),
    'tf.conv2dTranspose forward + both gradients, new kernels': () =>
      tf.dispose(
        tf.grads((a: tf.Tensor, w: tf.Tensor) => tf.sum(tf.conv2dTranspose(a as tf.Tensor4D, w as tf.Tensor4D, [16, 32, 32, 32], 2, 'same')))([dy, filter]),
      ),
    'Conv2DBackpropFilter of the matching conv2d (new)': () =>
      backend.disposeData(
        conv2dBackpropFilter({ inputs: { x, dy }, attrs: { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [4, 4, 32, 64] }, backend }).dataId,
      ),
    'Conv2D forward of the matching conv2d (stock, for scale)': () => tf.conv2d(x, filter, 2, 'same').dispose(),
    'stride 1, k3 (16x32x32x64 -> 32 ch): Conv2DBackpropInput, stock': () => {
      const out = stockWasmKernel('Conv2DBackpropInput')?.kernelFunc({
        inputs: { dy: dy1, filter: filter1 },
        attrs: { ...attrs, strides: 1 } as unknown as tf.NamedAttrMap,
        backend,
      }) as tf.TensorInfo;
      backend.disposeData(out.dataId);
    },
    'stride 1, k3 (16x32x32x64 -> 32 ch): Conv2DBackpropInput, new': () =>
      backend.disposeData(conv2dBackpropInput({ inputs: { dy: dy1, filter: filter1 }, attrs: { ...attrs, strides: 1 }, backend }).dataId),
  };

  beforeAll(async () => {
    await setupBackends();
    backend = tf.backend() as BackendWasm;
    dy = tf.randomNormal([16, 16, 16, 64]);
    filter = tf.randomNormal([4, 4, 32, 64]);
    x = tf.randomNormal([16, 32, 32, 32]);
    dy1 = tf.randomNormal([16, 32, 32, 64]);
    filter1 = tf.randomNormal([3, 3, 32, 64]);
  });

  it('new kernels beat the stock one; prints a table', () => {
    const times: Record<string, number[]> = {};
    for (const [name, run] of Object.entries(candidates)) {
      run(); // warm-up
      times[name] = [];
    }
    for (let r = 0; r < rounds; r++) {
      for (const [name, run] of Object.entries(candidates)) {
        const t0 = performance.now();
        run();
        times[name]?.push(performance.now() - t0);
      }
    }
    const median = (v: number[]) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)] as number;
    const table = Object.entries(times).map(([name, v]) => ({ name, 'median ms': +median(v).toFixed(1), 'min ms': +Math.min(...v).toFixed(1) }));
    console.table(table);
    const ms = (name: string) => median(times[name] ?? []);
    expect(ms('Conv2DBackpropInput, new (one conv per stride phase, the default here)')).toBeLessThan(ms('Conv2DBackpropInput, stock wasm kernel'));
    expect(ms('tf.conv2dTranspose, new kernel')).toBeLessThan(ms('tf.conv2dTranspose, stock kernel'));
  });
});
