import {
  Greater,
  type KernelConfig,
  type KernelFunc,
  LeakyRelu,
  type LeakyReluAttrs,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { withWasmScope } from './wasm-kernel-scope.js';

/*
 * Two element-wise kernels of every LeakyReLU layer, forward (LeakyRelu) and backward (the
 * x > 0 of where(x > 0, dy, alpha * dy)). The stock wasm kernels branch on every element,
 * and on activations (signs at random) the branch is mispredicted half the time: 3-4 ns an
 * element (LeakyRelu 0.57 ms on 131,072 numbers, where Relu, on XNNPACK, takes 0.02 ms).
 * These loops do not branch: a comparison becomes 0 or 1 (and picks from a two-slot array).
 * LeakyRelu 0.20 ms, Greater 0.14 ms against 0.39 ms stock; exact.
 */

type Args<I, A = Record<string, never>> = { inputs: I; attrs: A; backend: BackendWasm };

export function leakyRelu(args: Args<{ x: TensorInfo }, LeakyReluAttrs>): TensorInfo {
  const { inputs, attrs, backend } = args;
  const { x } = inputs;
  if (x.dtype !== 'float32') return withWasmScope(backend, (s) => s.runStock(LeakyRelu, { x }, { ...attrs }));
  const out = backend.makeOutput(x.shape, 'float32') as TensorInfo;
  // Views after the allocation: growing the heap detaches older ones.
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const alpha = attrs.alpha;
  const pick = new Float32Array(2);
  for (let i = 0; i < src.length; i++) {
    const v = src[i] as number;
    pick[0] = v;
    pick[1] = alpha * v;
    dst[i] = pick[+(v < 0)] as number;
  }
  return out;
}

/** a > b for float32 operands of one shape or a scalar b (the LeakyReLU mask); the rest stock. */
export function greater(args: Args<{ a: TensorInfo; b: TensorInfo }>): TensorInfo {
  const { inputs, backend } = args;
  const { a, b } = inputs;
  const sameShape = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
  const scalarB = util.sizeFromShape(b.shape) === 1;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || !(sameShape || scalarB)) {
    return withWasmScope(backend, (s) => s.runStock(Greater, { a, b }));
  }
  const out = backend.makeOutput(a.shape, 'bool') as TensorInfo;
  const x = backend.typedArrayFromHeap(a);
  const y = backend.typedArrayFromHeap(b);
  const mask = backend.typedArrayFromHeap(out);
  if (scalarB) {
    const t = y[0] as number;
    for (let i = 0; i < x.length; i++) mask[i] = +((x[i] as number) > t);
  } else {
    for (let i = 0; i < x.length; i++) mask[i] = +((x[i] as number) > (y[i] as number));
  }
  return out;
}

export const leakyReluConfig: KernelConfig = { kernelName: LeakyRelu, backendName: 'wasm', kernelFunc: leakyRelu as unknown as KernelFunc };
export const greaterConfig: KernelConfig = { kernelName: Greater, backendName: 'wasm', kernelFunc: greater as unknown as KernelFunc };
