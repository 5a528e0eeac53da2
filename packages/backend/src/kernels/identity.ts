import { Identity, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Identity (tf.clone, and the dozens of clones a layer model and its gradient make per step)
 * shares the input's buffer, as the cpu backend does, instead of copying it: a sampler step
 * of the reference pair made 59 copies. No wasm kernel writes into its inputs, so a shared
 * buffer never changes under a tensor; the backend frees it when its last tensor goes.
 */
export function identity(args: { inputs: { x: TensorInfo }; backend: BackendWasm }): TensorInfo {
  const { inputs, backend } = args;
  const { x } = inputs;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

export const identityConfig: KernelConfig = {
  kernelName: Identity,
  backendName: 'wasm',
  kernelFunc: identity as unknown as KernelFunc,
};
