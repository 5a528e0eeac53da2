import {
  type DataType,
  getKernel,
  Identity,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { stockWasmKernel } from './stock.js';

/** `[[0, 0], [top, bottom], [left, right], [0, 0]]`, the explicit padding of a 2-D conv. */
export type ExplicitPad = [[number, number], [number, number], [number, number], [number, number]];

/**
 * Runs wasm kernels straight on the backend from inside another kernel and frees every
 * intermediate it made. Kernel functions are looked up in the registry at call time, so a
 * kernel built here always calls whatever is registered (stock or replaced) for its parts;
 * nothing goes through the engine, so nothing lands on the gradient tape.
 */
export class WasmKernelScope {
  private readonly made: TensorInfo[] = [];

  constructor(readonly backend: BackendWasm) {}

  /** Runs a single-output wasm kernel; its result is freed when the scope ends. */
  run(kernelName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const config = getKernel(kernelName, 'wasm');
    if (!config) throw new Error(`wasm kernel '${kernelName}' is not registered`);
    const out = config.kernelFunc({ inputs, attrs, backend: this.backend });
    if (Array.isArray(out)) {
      this.made.push(...out);
      throw new Error(`wasm kernel '${kernelName}' returned ${out.length} outputs, expected one`);
    }
    this.made.push(out);
    return out;
  }

  /**
   * Runs the stock wasm kernel under `kernelName`: the one this package displaced, or the
   * registered one when this package has not replaced it (kernels used on a stock backend).
   */
  runStock(kernelName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const config = stockWasmKernel(kernelName) ?? getKernel(kernelName, 'wasm');
    if (!config) throw new Error(`wasm kernel '${kernelName}' is not registered`);
    const out = config.kernelFunc({ inputs, attrs, backend: this.backend });
    if (Array.isArray(out)) {
      this.made.push(...out);
      throw new Error(`stock wasm kernel '${kernelName}' returned ${out.length} outputs, expected one`);
    }
    this.made.push(out);
    return out;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    if (perm.every((p, i) => p === i)) return x;
    return this.run('Transpose', { x }, { perm });
  }

  /**
   * Swaps the last two axes of a float32 `x` [..., R, C] -> [..., C, R] in cache-sized tiles
   * over heap views (the stock Transpose is a scalar loop, slow on large matrices).
   */
  transposeLast2(x: TensorInfo): TensorInfo {
    const rank = x.shape.length;
    if (rank < 2) throw new Error(`transposeLast2 needs rank >= 2, got [${x.shape.join(', ')}]`);
    const rows = x.shape[rank - 2] as number;
    const cols = x.shape[rank - 1] as number;
    const out = this.makeOutput([...x.shape.slice(0, -2), cols, rows], x.dtype);
    const src = this.backend.typedArrayFromHeap(x);
    const dst = this.backend.typedArrayFromHeap(out);
    const plane = rows * cols;
    const batches = plane === 0 ? 0 : src.length / plane;
    const tile = 32;
    for (let b = 0; b < batches; b++) {
      const base = b * plane;
      for (let r0 = 0; r0 < rows; r0 += tile) {
        const r1 = Math.min(rows, r0 + tile);
        for (let c0 = 0; c0 < cols; c0 += tile) {
          const c1 = Math.min(cols, c0 + tile);
          for (let c = c0; c < c1; c++) {
            let to = base + c * rows + r0;
            let from = base + r0 * cols + c;
            for (let r = r0; r < r1; r++, to++, from += cols) dst[to] = src[from] as number;
          }
        }
      }
    }
    return out;
  }

  /** A new uninitialised output buffer, freed with the scope unless returned. */
  makeOutput(shape: number[], dtype: DataType = 'float32'): TensorInfo {
    const out = this.backend.makeOutput(shape, dtype) as TensorInfo;
    this.made.push(out);
    return out;
  }

  /**
   * Slices `x`; returns `x` itself when the slice covers all of it. Rank-4 numeric slices
   * copy rows straight between heap views (the stock Slice first copies all of `x` out).
   */
  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    if (begin.every((b) => b === 0) && size.every((s, i) => s === x.shape[i])) return x;
    if (x.shape.length !== 4 || x.dtype === 'string' || x.dtype === 'complex64') {
      return this.run('Slice', { x }, { begin, size });
    }
    const [, h, w, c] = shape4(x.shape);
    const [b0, h0, w0, c0] = shape4(begin);
    const [n, oh, ow, oc] = shape4(size);
    const out = this.makeOutput(size, x.dtype);
    // Views are taken after the allocation: growing the heap detaches older ones.
    const src = this.backend.typedArrayFromHeap(x);
    const dst = this.backend.typedArrayFromHeap(out);
    let o = 0;
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < oh; i++) {
        const rowStart = (((b + b0) * h + i + h0) * w + w0) * c;
        if (oc === c) {
          dst.set(src.subarray(rowStart, rowStart + ow * c), o);
          o += ow * c;
        } else {
          for (let j = 0; j < ow; j++) {
            const at = rowStart + j * c + c0;
            dst.set(src.subarray(at, at + oc), o);
            o += oc;
          }
        }
      }
    }
    return out;
  }

  /** Zero-pads `x` (`paddings[i] = [before, after]`, both >= 0); returns `x` when all are 0. */
  pad(x: TensorInfo, paddings: [number, number][]): TensorInfo {
    if (paddings.every(([a, b]) => a === 0 && b === 0)) return x;
    return this.run('PadV2', { x }, { paddings, constantValue: 0 });
  }

  /** Frees an intermediate of this scope before the scope ends (bounds memory in loops). */
  free(t: TensorInfo): void {
    const at = this.made.indexOf(t);
    if (at < 0) throw new Error('free: the tensor was not made in this scope');
    this.made.splice(at, 1);
    this.backend.disposeData(t.dataId);
  }

  /**
   * Frees every intermediate except `result` and returns it as a tensor the caller owns
   * (an input handed back unchanged gets its own reference, as the engine expects).
   */
  finish(result: TensorInfo): TensorInfo {
    let owned = result;
    if (!this.made.includes(result)) owned = this.run(Identity, { x: result });
    for (const t of this.made) if (t !== owned) this.backend.disposeData(t.dataId);
    this.made.length = 0;
    return owned;
  }

  /** Frees everything made so far (used when a kernel throws). */
  disposeAll(): void {
    for (const t of this.made) this.backend.disposeData(t.dataId);
    this.made.length = 0;
  }
}

/** Runs `body` with a fresh scope, frees its intermediates and returns the one result. */
export function withWasmScope(backend: BackendWasm, body: (scope: WasmKernelScope) => TensorInfo): TensorInfo {
  const scope = new WasmKernelScope(backend);
  try {
    return scope.finish(body(scope));
  } catch (err) {
    scope.disposeAll();
    throw err;
  }
}

/** A 4-D shape as a typed tuple (the conv helpers of tfjs-core want one). */
export function shape4(shape: number[]): [number, number, number, number] {
  if (shape.length !== 4) throw new Error(`expected a rank-4 shape, got [${shape.join(', ')}]`);
  return shape as [number, number, number, number];
}
