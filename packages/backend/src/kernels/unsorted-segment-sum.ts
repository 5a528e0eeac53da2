import {
  GatherV2,
  type KernelConfig,
  type KernelFunc,
  ScatterNd,
  type TensorInfo,
  UnsortedSegmentSum,
  type UnsortedSegmentSumAttrs,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { withWasmScope } from './wasm-kernel-scope.js';

/**
 * Sums the rows of `x` into `numSegments` segments (the gradient of gather, so of every
 * embedding layer): out[k, ...] = sum over i with segmentIds[i] = k of x[i, ...].
 * `segmentIds` may have any shape that prefixes `x`'s. The wasm ScatterNd does the work (it
 * adds rows that share an index); ids outside [0, numSegments) are dropped, as on cpu.
 */
export function unsortedSegmentSum(args: {
  inputs: { x: TensorInfo; segmentIds: TensorInfo };
  attrs: UnsortedSegmentSumAttrs;
  backend: BackendWasm;
}): TensorInfo {
  const { inputs, attrs, backend } = args;
  const { x, segmentIds } = inputs;
  const { numSegments } = attrs;
  const rows = segmentIds.shape.reduce((a, b) => a * b, 1);
  const rest = x.shape.slice(segmentIds.shape.length);
  const outShape = [numSegments, ...rest];
  return withWasmScope(backend, (s) => {
    const ids = backend.typedArrayFromHeap(segmentIds);
    const keep: number[] = [];
    for (let i = 0; i < rows; i++) {
      const id = ids[i] as number;
      if (id >= 0 && id < numSegments && Number.isInteger(id)) keep.push(i);
    }
    if (keep.length === 0 || rest.some((d) => d === 0) || numSegments === 0) {
      const out = s.makeOutput(outShape, x.dtype);
      backend.typedArrayFromHeap(out).fill(0);
      return out;
    }
    let indices = s.reshape(segmentIds, [rows, 1]);
    let updates = s.reshape(x, [rows, ...rest]);
    if (segmentIds.dtype !== 'int32') indices = s.run('Cast', { x: indices }, { dtype: 'int32' });
    if (keep.length < rows) {
      const positions = s.makeOutput([keep.length], 'int32');
      backend.typedArrayFromHeap(positions).set(keep);
      indices = s.run(GatherV2, { x: indices, indices: positions }, { axis: 0, batchDims: 0 });
      updates = s.run(GatherV2, { x: updates, indices: positions }, { axis: 0, batchDims: 0 });
    }
    return s.run(ScatterNd, { indices, updates }, { shape: outShape });
  });
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as KernelFunc,
};
