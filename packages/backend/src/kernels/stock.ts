import type { KernelConfig } from '@tensorflow/tfjs';

const STOCK = Symbol.for('@ppgn/backend:stock-wasm-kernels');
type GlobalWithStock = typeof globalThis & { [STOCK]?: Map<string, KernelConfig> };

/** Stock wasm kernels this package replaced, kept across module copies. */
export function stockKernels(): Map<string, KernelConfig> {
  const g = globalThis as GlobalWithStock;
  g[STOCK] ??= new Map();
  return g[STOCK];
}

/**
 * The wasm kernel that tfjs-backend-wasm itself registered under `kernelName`, if this
 * package replaced it (for comparisons and benchmarks, and for kernels here that hand
 * the easy cases to it). Its wasm bindings are set up along with ours, so it stays callable.
 */
export function stockWasmKernel(kernelName: string): KernelConfig | undefined {
  return stockKernels().get(kernelName);
}
