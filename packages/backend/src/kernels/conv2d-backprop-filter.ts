import {
  BatchMatMul,
  backend_util,
  Conv2D,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type ExplicitPad, shape4, type WasmKernelScope, withWasmScope } from './wasm-kernel-scope.js';

/** How the filter gradient is computed; 'auto' picks the faster one for the shape. */
export type BackpropFilterMethod = 'auto' | 'gemm' | 'transposed-conv';

/** Largest phase stack `byGemm` builds at once, in floats (larger batches go in chunks). */
const GEMM_CHUNK_FLOATS = 1 << 23;
/** Floats of both matrices of one product: about 512 KB, to stay in L2. */
const L2_FLOATS = 1 << 17;

/**
 * The filter gradient of a 2-D convolution, by one of two exact methods: XNNPACK matrix
 * products over shifted windows of the input's stride phases (`byGemm`, below), or one
 * XNNPACK convolution over transposed tensors:
 *
 * For `y = conv2d(x, w)` with stride s, dilation d and top/left padding (pt, pl):
 *   dw[a, b, ci, co] = sum_{n, i, j} x[n, i*s + a*d - pt, j*s + b*d - pl, ci] * dy[n, i, j, co]
 * which is itself a convolution whose batch is the input channels, whose channels are the
 * batch, whose "filter" is dy, with stride d and dilation s:
 *   x' = x^T [Cin, H, W, N],  dy' = dy^T [oh, ow, N, Cout],  conv2d(x', dy') -> [Cin, kh, kw, Cout]
 * and one more transpose gives [kh, kw, Cin, Cout]. A `dilations` attribute is honoured
 * when present (the tfjs kernel interface has none: its conv gradients assume 1).
 */
export function conv2dBackpropFilter(
  args: {
    inputs: { x: TensorInfo; dy: TensorInfo };
    attrs: Conv2DBackpropFilterAttrs & { dilations?: number | [number, number] };
    backend: BackendWasm;
  },
  method: BackpropFilterMethod = 'auto',
  /** Sizes of the GEMM's pieces (tests make them small to exercise the chunking). */
  tune: { chunkFloats?: number; blockCells?: number } = {},
): TensorInfo {
  const { inputs, attrs, backend } = args;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  const channelsFirst = dataFormat === 'NCHW';
  const info = backend_util.computeConv2DInfo(
    shape4(inputs.x.shape),
    filterShape,
    strides,
    attrs.dilations ?? 1,
    pad,
    dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(dataFormat),
  );
  const [, , inC, outC] = filterShape;
  // Measured on 2 cores at batch 16-64 (3x3 and 4x4 filters): the GEMM wins up to 32 input
  // channels when the output has 16+ channels and 256+ pixels (1.2-1.4x); the transposed conv
  // wins on wide, small maps, where XNNPACK's weight packing dominates the GEMM's time.
  const gemm = method === 'gemm' || (method === 'auto' && inC <= 32 && outC >= 16 && info.outHeight * info.outWidth >= 256);
  return withWasmScope(backend, (s) => {
    const x = channelsFirst ? s.transpose(inputs.x, [0, 2, 3, 1]) : inputs.x;
    const dy = channelsFirst ? s.transpose(inputs.dy, [0, 2, 3, 1]) : inputs.dy;
    return gemm ? byGemm(s, x, dy, info, tune) : byTransposedConv(s, x, dy, info);
  });
}

/** One XNNPACK conv over transposed tensors (see the comment at the top). */
function byTransposedConv(s: WasmKernelScope, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const { inHeight, inWidth, outHeight, outWidth, strideHeight: sh, strideWidth: sw, inChannels: inC } = info;
  const { filterHeight: kh, filterWidth: kw, outChannels: outC, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const xT = s.transpose(x, [3, 1, 2, 0]); // [Cin, H, W, N]
  const dyT = s.transpose(dy, [1, 2, 0, 3]); // [oh, ow, N, Cout]
  // Rows the window reaches past the input; extra rows (negative) are cut off below.
  const bottom = Math.max(0, (kh - 1) * dh + (outHeight - 1) * sh + 1 - inHeight - top);
  const right = Math.max(0, (kw - 1) * dw + (outWidth - 1) * sw + 1 - inWidth - left);
  const explicit: ExplicitPad = [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
  const conv = s.run(Conv2D, { x: xT, filter: dyT }, {
    strides: [dh, dw],
    dilations: [sh, sw],
    pad: explicit,
    dataFormat: 'NHWC',
  });
  const cut = s.slice(conv, [0, 0, 0, 0], [inC, kh, kw, outC]);
  return s.transpose(cut, [1, 2, 0, 3]);
}

/**
 * The filter gradient as one matrix product per chunk of images, [kh*kw*Cin, L] @ [L, Cout],
 * which is dw in its own layout. Filter row a reads input row i*s + a*d - pt = (i + e)*s + r - pt
 * with e = floor(a*d / s), r = a*d mod s. So x is split into its stride phases r (per axis),
 * each laid on a grid of hq x wq cells (hq = oh + max e) and transposed to [Cin, cells]; dy is
 * laid on the same grid, zero outside its oh x ow corner. On the flattened grid, tap (a, b)
 * is phase (ra, rb) shifted by e_a*wq + e_b cells, so its rows of the left matrix are plain
 * copies of a window of the transposed phase image: one memcpy per row instead of an im2col
 * gather. The zero cells of dy absorb the windows that run past an image.
 */
function byGemm(
  s: WasmKernelScope,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
  tune: { chunkFloats?: number; blockCells?: number },
): TensorInfo {
  const [n, inH, inW, inC] = shape4(x.shape);
  const [, oh, ow, outC] = shape4(dy.shape);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const taps = (k: number, d: number, st: number) =>
    Array.from({ length: k }, (_, a) => ({ shift: Math.floor((a * d) / st), phase: (a * d) % st }));
  const rowTaps = taps(kh, dh, sh);
  const colTaps = taps(kw, dw, sw);
  const hq = oh + (rowTaps[kh - 1]?.shift ?? 0);
  const wq = ow + (colTaps[kw - 1]?.shift ?? 0);
  const cells = hq * wq;
  const maxOff = (hq - oh) * wq + (wq - ow);
  const rows = kh * kw * inC;
  const phaseOf = new Map<number, number>(); // rh * sw + rw -> index in the phase stack
  for (const r of rowTaps) for (const c of colTaps) if (!phaseOf.has(r.phase * sw + c.phase)) phaseOf.set(r.phase * sw + c.phase, phaseOf.size);
  // Images per chunk, so the phase stack stays bounded; and cells per product, so that both
  // matrices of one product sit in L2 (the product streams them once per tile).
  const perChunk = Math.max(1, Math.floor((tune.chunkFloats ?? GEMM_CHUNK_FLOATS) / (phaseOf.size * inC * cells)));
  const block = tune.blockCells ?? Math.max(1024, Math.floor(L2_FLOATS / (rows + outC)));
  const out = s.makeOutput([kh, kw, inC, outC]);
  let first = true;
  for (let n0 = 0; n0 < n; n0 += perChunk) {
    const nc = Math.min(perChunk, n - n0);
    const grid = nc * cells;
    const len = grid - maxOff;
    // Phase images, transposed: phases[(ph * inC + ci) * grid + cell], zero where they fall in the padding.
    const phases = new Float32Array(phaseOf.size * inC * grid);
    // dy on the grid: dyGrid[cell * outC + co]
    const dyGrid = new Float32Array(len * outC);
    const xv = s.backend.typedArrayFromHeap(x);
    const dyv = s.backend.typedArrayFromHeap(dy);
    for (const [key, ph] of phaseOf) {
      const rh = Math.floor(key / sw);
      const rw = key % sw;
      const j0 = Math.max(0, Math.ceil((left - rw) / sw));
      const j1 = Math.min(wq, Math.floor((inW - 1 + left - rw) / sw) + 1);
      for (let b = 0; b < nc; b++) {
        for (let iq = 0; iq < hq; iq++) {
          const row = iq * sh + rh - top;
          if (row < 0 || row >= inH || j1 <= j0) continue;
          const src = (((n0 + b) * inH + row) * inW + j0 * sw + rw - left) * inC;
          const dst = ph * inC * grid + b * cells + iq * wq;
          // a small tile: inC rows of contiguous cells, read from one image row
          for (let ci = 0; ci < inC; ci++) {
            let from = src + ci;
            const to = dst + ci * grid;
            for (let jq = j0; jq < j1; jq++, from += sw * inC) phases[to + jq] = xv[from] as number;
          }
        }
      }
    }
    for (let b = 0; b < nc; b++) {
      for (let i = 0; i < oh; i++) {
        const from = ((n0 + b) * oh + i) * ow * outC;
        dyGrid.set(dyv.subarray(from, from + ow * outC), (b * cells + i * wq) * outC);
      }
    }
    for (let p0 = 0; p0 < len; p0 += block) {
      const width = Math.min(block, len - p0);
      const lhs = s.makeOutput([1, rows, width]);
      const rhs = s.makeOutput([1, width, outC]);
      // Views after the allocations: growing the heap detaches older ones.
      const lv = s.backend.typedArrayFromHeap(lhs);
      for (let a = 0; a < kh; a++) {
        for (let bb = 0; bb < kw; bb++) {
          const rt = rowTaps[a]!;
          const ct = colTaps[bb]!;
          const ph = phaseOf.get(rt.phase * sw + ct.phase)!;
          const off = rt.shift * wq + ct.shift + p0;
          for (let ci = 0; ci < inC; ci++) {
            const from = (ph * inC + ci) * grid + off;
            lv.set(phases.subarray(from, from + width), ((a * kw + bb) * inC + ci) * width);
          }
        }
      }
      s.backend.typedArrayFromHeap(rhs).set(dyGrid.subarray(p0 * outC, (p0 + width) * outC));
      const part = s.runStock(BatchMatMul, { a: lhs, b: rhs }, { transposeA: false, transposeB: false });
      const pv = s.backend.typedArrayFromHeap(part);
      const ov = s.backend.typedArrayFromHeap(out);
      if (first) ov.set(pv.subarray(0, ov.length));
      else for (let i = 0; i < ov.length; i++) ov[i] = (ov[i] as number) + (pv[i] as number);
      first = false;
      for (const t of [lhs, rhs, part]) s.free(t);
    }
  }
  return out;
}

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: ((args: Parameters<typeof conv2dBackpropFilter>[0]) => conv2dBackpropFilter(args)) as unknown as KernelFunc,
};
