import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerWasmTrainingKernels, stockWasmKernel, wasmTrainingKernels } from './register.js';
import { setupBackends } from './test-utils.js';

const names = () => tf.getKernelsForBackend('wasm').map((k) => k.kernelName);

describe('registerWasmTrainingKernels', () => {
  beforeAll(setupBackends);
  afterAll(() => vi.restoreAllMocks());

  it('registers every training kernel for wasm', () => {
    expect(wasmTrainingKernels.map((k) => k.kernelName).sort()).toEqual(
      [
        'BatchMatMul',
        'Conv2DBackpropFilter',
        'Conv2DBackpropInput',
        'DepthwiseConv2dNativeBackpropFilter',
        'DepthwiseConv2dNativeBackpropInput',
        'Greater',
        'Identity',
        'LeakyRelu',
        'MaxPoolGrad',
        'OneHot',
        'UnsortedSegmentSum',
      ].sort(),
    );
    for (const config of wasmTrainingKernels) {
      expect(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc).toBe(config.kernelFunc);
    }
  });

  it('leaves only non-training kernels missing compared with cpu', () => {
    const wasm = new Set(names());
    const missing = tf
      .getKernelsForBackend('cpu')
      .map((k) => k.kernelName)
      .filter((k) => !wasm.has(k));
    const training = ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'UnsortedSegmentSum'];
    for (const k of training) expect(missing).not.toContain(k);
  });

  it('is idempotent: a second call neither throws, warns nor loses the stock kernels', () => {
    const warn = vi.spyOn(console, 'warn');
    const before = names().length;
    const kernelFuncs = wasmTrainingKernels.map((k) => tf.getKernel(k.kernelName, 'wasm'));
    expect(() => registerWasmTrainingKernels()).not.toThrow();
    expect(() => registerWasmTrainingKernels()).not.toThrow();
    expect(warn).not.toHaveBeenCalled();
    expect(names().length).toBe(before);
    expect(wasmTrainingKernels.map((k) => tf.getKernel(k.kernelName, 'wasm'))).toEqual(kernelFuncs);
    for (const name of ['BatchMatMul', 'Conv2DBackpropInput', 'OneHot', 'MaxPoolGrad']) {
      const stock = stockWasmKernel(name);
      expect(stock, name).toBeDefined();
      expect(stock?.kernelFunc).not.toBe(tf.getKernel(name, 'wasm')?.kernelFunc);
    }
    expect(stockWasmKernel('Conv2DBackpropFilter')).toBeUndefined();
  });

  it('keeps working after switching backends back and forth', async () => {
    await tf.setBackend('cpu');
    await tf.setBackend('wasm');
    const y = tf.oneHot(tf.tensor1d([2], 'int32'), 3, 1, 0, 'float32');
    expect(y.arraySync()).toEqual([[0, 0, 1]]);
    y.dispose();
  });
});
