import { type KernelConfig, type KernelFunc, OneHot, type OneHotAttrs, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * One-hot encoding written in the requested dtype. The stock wasm kernel always writes
 * int32 words, so a float32 one-hot (the usual label encoding) read back as float32 is
 * garbage (1 becomes 1.4e-45). Indices outside [0, depth) give a row of `offValue`, as on cpu.
 */
export function oneHot(args: { inputs: { indices: TensorInfo }; attrs: OneHotAttrs; backend: BackendWasm }): TensorInfo {
  const { inputs, attrs, backend } = args;
  const { indices } = inputs;
  const { depth, onValue, offValue, dtype } = attrs;
  if (dtype === 'string' || dtype === 'complex64') throw new Error(`OneHot: unsupported dtype ${dtype}`);
  const out = backend.makeOutput([...indices.shape, depth], dtype) as TensorInfo;
  // Views are taken after the allocation: growing the heap detaches older ones.
  const values = backend.typedArrayFromHeap(out);
  const idx = backend.typedArrayFromHeap(indices);
  values.fill(offValue);
  for (let i = 0; i < idx.length; i++) {
    const k = idx[i] as number;
    if (k >= 0 && k < depth && Number.isInteger(k)) values[i * depth + k] = onValue;
  }
  return out;
}

export const oneHotConfig: KernelConfig = {
  kernelName: OneHot,
  backendName: 'wasm',
  kernelFunc: oneHot as unknown as KernelFunc,
};
