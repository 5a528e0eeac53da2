import {
  BatchMatMul,
  type BatchMatMulAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  broadcast_util,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type WasmKernelScope, withWasmScope } from './wasm-kernel-scope.js';

export type BatchMatMulArgs = {
  inputs: { a: TensorInfo; b: TensorInfo };
  attrs: BatchMatMulAttrs;
  backend: BackendWasm;
};

const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

/**
 * BatchMatMul with transposed operands as an untransposed XNNPACK matmul. The stock kernel
 * hands only an unbatched `a @ b` to XNNPACK; with transposeA or transposeB (every backward
 * pass of a dense layer: dy @ W^T and x^T @ dy) it falls back to a scalar loop, 4-30x
 * slower. Here the operands are transposed first, or, when that moves fewer numbers, the
 * product is taken the other way round, (a @ b)^T = b^T @ a^T, and its result transposed.
 * Batched products are scalar loops on the stock kernel either way and are left to it.
 */
export function batchMatMul(args: BatchMatMulArgs): TensorInfo {
  const { inputs, attrs, backend } = args;
  const { a, b } = inputs;
  const { transposeA, transposeB } = attrs;
  const single = (x: TensorInfo) => x.shape.length >= 2 && size(x.shape.slice(0, -2)) === 1;
  // XNNPACK takes only single (unbatched) float32 products; the rest stay on the stock path.
  if ((!transposeA && !transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32' || !single(a) || !single(b)) {
    return withWasmScope(backend, (s) => s.runStock(BatchMatMul, { a, b }, { transposeA, transposeB }));
  }
  const ra = a.shape.length;
  const rb = b.shape.length;
  // Logical a [M, K], b [K, N]; stored transposed where flagged.
  const m = a.shape[transposeA ? ra - 1 : ra - 2] as number;
  const k = a.shape[transposeA ? ra - 2 : ra - 1] as number;
  const kb = b.shape[transposeB ? rb - 1 : rb - 2] as number;
  const n = b.shape[transposeB ? rb - 2 : rb - 1] as number;
  if (k !== kb) {
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} and ` +
        `transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  const outer = broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  // Numbers moved by transposes: making both operands plain, or computing b^T @ a^T.
  const direct = (transposeA ? m * k : 0) + (transposeB ? k * n : 0);
  const swapped = (transposeA ? 0 : m * k) + (transposeB ? 0 : k * n) + m * n;
  /** `x` as a plain [1, rows, cols] matrix, `flip` when it is stored as [cols, rows]. */
  const plain = (s: WasmKernelScope, x: TensorInfo, rows: number, cols: number, flip: boolean) => {
    const x3 = s.reshape(x, [1, flip ? cols : rows, flip ? rows : cols]);
    return flip ? s.transposeLast2(x3) : x3;
  };
  return withWasmScope(backend, (s) => {
    let out: TensorInfo;
    if (direct <= swapped) {
      const a3 = plain(s, a, m, k, transposeA);
      const b3 = plain(s, b, k, n, transposeB);
      out = s.runStock(BatchMatMul, { a: a3, b: b3 }, { transposeA: false, transposeB: false });
    } else {
      // b^T [N, K] @ a^T [K, M] = (a @ b)^T [N, M]
      const bt = plain(s, b, n, k, !transposeB);
      const at = plain(s, a, k, m, !transposeA);
      out = s.transposeLast2(s.runStock(BatchMatMul, { a: bt, b: at }, { transposeA: false, transposeB: false }));
    }
    return s.reshape(out, [...outer, m, n]);
  });
}

export const batchMatMulConfig: KernelConfig = {
  kernelName: BatchMatMul,
  backendName: 'wasm',
  kernelFunc: batchMatMul as unknown as KernelFunc,
};
