import {
  backend_util,
  Conv2D,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type ExplicitPad, shape4, type WasmKernelScope, withWasmScope } from './wasm-kernel-scope.js';

/** How the input gradient is computed; 'auto' picks the fastest exact one. */
export type BackpropInputMethod = 'auto' | 'phase-convs' | 'phases' | 'zero-insert';

export type Conv2DBackpropInputArgs = {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  attrs: Conv2DBackpropInputAttrs & { dilations?: number | [number, number] };
  backend: BackendWasm;
};

/**
 * Inserts `s - 1` zeros between the rows and columns of `dy` [N, oh, ow, C] and crops or
 * pads it so that a stride-1 convolution with a kh x kw filter dilated by d gives exactly
 * [N, H, W, ...]: the "full" correlation behind every transposed convolution.
 * Returns the tensor to convolve and the explicit padding to convolve it with.
 */
export function zeroInsertedGradient(
  s: WasmKernelScope,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): { x: TensorInfo; pad: ExplicitPad } {
  const [n, oh, ow, c] = shape4(dy.shape);
  const { strideHeight: sh, strideWidth: sw } = info;
  const { effectiveFilterHeight: fh, effectiveFilterWidth: fw, inHeight, inWidth } = info;
  let x = dy;
  if (sh > 1 || sw > 1) {
    const spaced = s.pad(s.reshape(dy, [n, oh, 1, ow, 1, c]), [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ]);
    x = s.reshape(spaced, [n, oh * sh, ow * sw, c]);
  }
  const rows = oh * sh;
  const cols = ow * sw;
  // Output row h reads rows h - top + e*d of x (e = 0..kh-1): pad `top` above, `bottom` below.
  const top = fh - 1 - info.padInfo.top;
  const bottom = inHeight + info.padInfo.top - rows;
  const left = fw - 1 - info.padInfo.left;
  const right = inWidth + info.padInfo.left - cols;
  // Negative paddings (explicit paddings larger than the filter, or unused rows) crop instead.
  const cropTop = Math.max(0, -top);
  const cropLeft = Math.max(0, -left);
  const keepRows = rows - cropTop - Math.max(0, -bottom);
  const keepCols = cols - cropLeft - Math.max(0, -right);
  x = s.slice(x, [0, cropTop, cropLeft, 0], [n, keepRows, keepCols, c]);
  return {
    x,
    pad: [
      [0, 0],
      [Math.max(0, top), Math.max(0, bottom)],
      [Math.max(0, left), Math.max(0, right)],
      [0, 0],
    ],
  };
}

/** Rearranged filters kept for weights that are used again (a sampler reuses G's and C's). */
interface CachedFilters {
  backend: BackendWasm;
  key: string;
  filters: TensorInfo[];
}
const filterCache = new Map<object, CachedFilters>();
/** Entries kept at most; a training step replaces every weight, so its entries go stale in one step. */
const FILTER_CACHE_SIZE = 64;

/**
 * The rearranged filters of `filter` for layout `key`, built by `build` (which allocates
 * with `alloc`) or taken from the cache. Reusing them skips the rearranging and lets the
 * stock Conv2D keep its XNNPACK operator (with the packed weights) across calls, as it
 * does for any weight tensor. Entries of freed weights are dropped on every call.
 */
function rearranged(
  s: WasmKernelScope,
  filter: TensorInfo,
  layout: string,
  build: (alloc: (shape: number[]) => TensorInfo) => TensorInfo[],
): TensorInfo[] {
  const { backend } = s;
  // Reshapes share a data id, so the shape is part of the key.
  const key = `[${filter.shape.join(',')}] ${layout}`;
  for (const [id, entry] of filterCache) {
    if (entry.backend.dataIdMap.has(id as never)) continue;
    for (const t of entry.filters) entry.backend.disposeData(t.dataId);
    filterCache.delete(id);
  }
  const hit = filterCache.get(filter.dataId);
  if (hit && hit.backend === backend && hit.key === key) return hit.filters;
  if (hit) {
    for (const t of hit.filters) hit.backend.disposeData(t.dataId);
    filterCache.delete(filter.dataId);
  }
  const filters = build((shape) => backend.makeOutput(shape, 'float32') as TensorInfo);
  filterCache.set(filter.dataId, { backend, key, filters });
  if (filterCache.size > FILTER_CACHE_SIZE) {
    const [oldest, entry] = filterCache.entries().next().value as [object, CachedFilters];
    for (const t of entry.filters) entry.backend.disposeData(t.dataId);
    filterCache.delete(oldest);
  }
  return filters;
}

/** Frees every cached filter (tests use it to count buffers). */
export function clearFilterCache(): void {
  for (const entry of filterCache.values()) for (const t of entry.filters) entry.backend.disposeData(t.dataId);
  filterCache.clear();
}

/**
 * The filter of the transposed correlation, split into stride phases:
 *   G[u, v, co, (rh*sw + rw)*Cin + ci] = w[rh + (th-1-u)*sh, rw + (tw-1-v)*sw, ci, co]
 * with th = ceil(kh/sh), tw = ceil(kw/sw), zero where the tap falls past the filter. With
 * strides of 1 this is the flipped filter with in/out channels swapped, [kh, kw, Cout, Cin].
 * Written in one pass over heap views: the stock Reverse and rank-6 Transpose are scalar
 * loops that cost more than the convolution for large filters.
 */
export function phaseFilter(s: WasmKernelScope, filter: TensorInfo, sh: number, sw: number): TensorInfo {
  return rearranged(s, filter, `phases ${sh} ${sw}`, (alloc) => [buildPhaseFilter(s, alloc, filter, sh, sw)])[0] as TensorInfo;
}

function buildPhaseFilter(
  s: WasmKernelScope,
  alloc: (shape: number[]) => TensorInfo,
  filter: TensorInfo,
  sh: number,
  sw: number,
): TensorInfo {
  const [kh, kw, inC, outC] = shape4(filter.shape);
  const th = Math.ceil(kh / sh);
  const tw = Math.ceil(kw / sw);
  const phases = sh * sw * inC;
  const out = alloc([th, tw, outC, phases]);
  const g = s.backend.typedArrayFromHeap(out);
  const w = s.backend.typedArrayFromHeap(filter);
  g.fill(0);
  for (let u = 0; u < th; u++) {
    for (let rh = 0; rh < sh; rh++) {
      const a = rh + (th - 1 - u) * sh;
      if (a >= kh) continue;
      for (let v = 0; v < tw; v++) {
        for (let rw = 0; rw < sw; rw++) {
          const b = rw + (tw - 1 - v) * sw;
          if (b >= kw) continue;
          const src = (a * kw + b) * inC * outC;
          const dst = (u * tw + v) * outC * phases + (rh * sw + rw) * inC;
          for (let ci = 0; ci < inC; ci++) {
            const from = src + ci * outC;
            let to = dst + ci;
            for (let co = 0; co < outC; co++, to += phases) g[to] = w[from + co] as number;
          }
        }
      }
    }
  }
  return out;
}

/** dx by a stride-1 conv over the zero-inserted dy with the flipped filter [kh, kw, Cout, Cin]. */
function byZeroInsertion(s: WasmKernelScope, dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const { x, pad } = zeroInsertedGradient(s, dy, info);
  return s.run(Conv2D, { x, filter: phaseFilter(s, filter, 1, 1) }, {
    strides: [1, 1],
    dilations: [info.dilationHeight, info.dilationWidth],
    pad,
    dataFormat: 'NHWC',
  });
}

/**
 * dx by stride phases (undilated filters only). With stride s, output row hh = q*s + r only
 * meets filter taps r, r + s, r + 2s, ..., so every phase r is a small stride-1 correlation
 * of the *un-inserted* dy with the taps of that phase, reversed:
 *   dx[q*s + r] = sum_u dy[q - T + 1 + u] * w[r + (T - 1 - u)*s],   T = ceil(k / s)
 * All sh*sw phases go into the output channels of one conv with a T x T filter; the phases
 * are then copied into their rows and columns of dx (a depth-to-space without the padding).
 * This does 1/(sh*sw) of the multiplications of the zero-inserted version.
 */
function byPhases(s: WasmKernelScope, dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const [n, oh, ow] = shape4(dy.shape);
  const [kh, kw, inC] = shape4(filter.shape);
  const { strideHeight: sh, strideWidth: sw, inHeight, inWidth } = info;
  const { top, left } = info.padInfo;
  const th = Math.ceil(kh / sh);
  const tw = Math.ceil(kw / sw);
  const phases = phaseFilter(s, filter, sh, sw);
  // Blocks q needed: those holding rows top .. top + H - 1 of the full output.
  const bottom = Math.max(0, Math.floor((top + inHeight - 1) / sh) - (oh - 1));
  const right = Math.max(0, Math.floor((left + inWidth - 1) / sw) - (ow - 1));
  const conv = s.run(Conv2D, { x: dy, filter: phases }, {
    strides: [1, 1],
    dilations: [1, 1],
    pad: [
      [0, 0],
      [th - 1, bottom],
      [tw - 1, right],
      [0, 0],
    ],
    dataFormat: 'NHWC',
  });
  // Interleave the phases straight into dx, dropping the padding: block (q, p) holds, for each
  // rh, the sw*inC numbers of row q*sh + rh, columns p*sw .. p*sw + sw - 1, side by side.
  const qh = oh + bottom;
  const qw = ow + right;
  const dx = s.makeOutput([n, inHeight, inWidth, inC]);
  const { heap, offsets } = floatHeap(s, [dx, conv]);
  const [dxBase, convBase] = offsets as [number, number];
  const rowLength = sw * inC;
  for (let b = 0; b < n; b++) {
    for (let q = 0; q < qh; q++) {
      for (let rh = 0; rh < sh; rh++) {
        const row = q * sh + rh - top;
        if (row < 0 || row >= inHeight) continue;
        for (let p = 0; p < qw; p++) {
          const col0 = p * sw - left;
          const lo = Math.max(0, -col0);
          const hi = Math.min(sw, inWidth - col0);
          if (hi <= lo) continue;
          const from = convBase + (((b * qh + q) * qw + p) * sh + rh) * rowLength + lo * inC;
          const to = dxBase + ((b * inHeight + row) * inWidth + col0 + lo) * inC;
          moveFloats(heap, to, from, (hi - lo) * inC);
        }
      }
    }
  }
  return dx;
}

/**
 * The wasm heap as float32 and where each tensor starts in it (in floats). Take it after the
 * last allocation: growing the heap detaches older views.
 */
function floatHeap(s: WasmKernelScope, tensors: TensorInfo[]): { heap: Float32Array; offsets: number[] } {
  const views = tensors.map((t) => s.backend.typedArrayFromHeap(t));
  return { heap: new Float32Array(views[0]!.buffer), offsets: views.map((v) => v.byteOffset / 4) };
}

/** Copies `count` floats within the heap: runs of 8 or more with copyWithin (no view object per run). */
function moveFloats(heap: Float32Array, to: number, from: number, count: number): void {
  if (count >= 8) heap.copyWithin(to, from, from + count);
  else for (let k = 0; k < count; k++) heap[to + k] = heap[from + k] as number;
}

/** The taps of a filter of size `k` that stride phase `r` meets: r, r + s, ...; 0 when r >= k. */
function phaseTaps(k: number, r: number, s: number): number {
  return r < k ? Math.floor((k - 1 - r) / s) + 1 : 0;
}

/** The filter of each phase: G[u, v, co, ci] = w[rh + (th-1-u)*sh, rw + (tw-1-v)*sw, ci, co]. */
function buildPhaseConvFilters(
  s: WasmKernelScope,
  alloc: (shape: number[]) => TensorInfo,
  filter: TensorInfo,
  phases: { rh: number; rw: number; th: number; tw: number }[],
  sh: number,
  sw: number,
): TensorInfo[] {
  const [, kw, inC, outC] = shape4(filter.shape);
  const filters = phases.map((p) => alloc([p.th, p.tw, outC, inC]));
  // Views after the allocations: growing the heap detaches older ones.
  const w = s.backend.typedArrayFromHeap(filter);
  phases.forEach((p, i) => {
    const g = s.backend.typedArrayFromHeap(filters[i] as TensorInfo);
    for (let u = 0; u < p.th; u++) {
      const a = p.rh + (p.th - 1 - u) * sh;
      for (let v = 0; v < p.tw; v++) {
        const b = p.rw + (p.tw - 1 - v) * sw;
        const src = (a * kw + b) * inC * outC;
        const dst = (u * p.tw + v) * outC * inC;
        for (let co = 0; co < outC; co++) {
          let from = src + co;
          const to = dst + co * inC;
          for (let ci = 0; ci < inC; ci++, from += outC) g[to + ci] = w[from] as number;
        }
      }
    }
  });
  return filters;
}

/**
 * dx by stride phases, one exact convolution per phase (undilated filters only). Phase
 * (rh, rw) holds the rows hh = q*sh + rh and columns q'*sw + rw of the full output; it meets
 * only the taps rh, rh + sh, ... (Th of them) and rw, rw + sw, ... (Tw):
 *   dx[q*s + r] = sum_{u < T} dy[q - T + 1 + u] * w[r + (T - 1 - u)*s]
 * so it is a stride-1 Th x Tw correlation of the un-inserted dy, padded so that it yields
 * exactly the q this phase needs. Every multiplication is by a real tap (a 3x3 filter at
 * stride 2 splits into 2x2, 2x1, 1x2 and 1x1 phases; 'phases' pads them all to 2x2 and
 * computes border blocks that are cropped away), and the phase outputs are written
 * straight into their rows and columns of dx, with no transpose or crop afterwards.
 */
function byPhaseConvs(s: WasmKernelScope, dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const [n, oh, ow] = shape4(dy.shape);
  const [kh, kw, inC, outC] = shape4(filter.shape);
  const { strideHeight: sh, strideWidth: sw, inHeight, inWidth } = info;
  const { top, left } = info.padInfo;
  /** The q of phase r (stride st, pad p, size len): rows q*st + r of the full output in p .. p + len - 1. */
  const span = (r: number, st: number, p: number, len: number) => {
    const first = Math.ceil((p - r) / st);
    const last = Math.floor((p + len - 1 - r) / st);
    return { first, count: last - first + 1 };
  };
  type Span = ReturnType<typeof span>;
  type Phase = { rh: number; rw: number; th: number; tw: number; rows: Span; cols: Span; pads: number[] };
  const phases: Phase[] = [];
  let covered = true;
  for (let rh = 0; rh < sh; rh++) {
    for (let rw = 0; rw < sw; rw++) {
      const rows = span(rh, sh, top, inHeight);
      const cols = span(rw, sw, left, inWidth);
      if (rows.count <= 0 || cols.count <= 0) continue;
      const th = phaseTaps(kh, rh, sh);
      const tw = phaseTaps(kw, rw, sw);
      // Output j reads dy rows first + j - th + 1 .. first + j: pad (or crop, when negative) to fit.
      const pads = [th - 1 - rows.first, rows.first + rows.count - oh, tw - 1 - cols.first, cols.first + cols.count - ow];
      const [t, b, l, r] = pads as [number, number, number, number];
      // A phase with no taps, or whose windows miss dy altogether, is all zeros.
      const empty = th === 0 || tw === 0 || oh + Math.min(0, t) + Math.min(0, b) <= 0 || ow + Math.min(0, l) + Math.min(0, r) <= 0;
      if (empty) covered = false;
      else phases.push({ rh, rw, th, tw, rows, cols, pads });
    }
  }
  const dx = s.makeOutput([n, inHeight, inWidth, inC]);
  const key = `phase convs ${sh} ${sw} ${phases.map((p) => `${p.rh},${p.rw}`).join(' ')}`;
  const filters = rearranged(s, filter, key, (alloc) => buildPhaseConvFilters(s, alloc, filter, phases, sh, sw));
  const crops = new Map<string, TensorInfo>();
  const outputs = phases.map((p, i) => {
    const [padTop, padBottom, padLeft, padRight] = p.pads as [number, number, number, number];
    const cut = [Math.max(0, -padTop), Math.max(0, -padBottom), Math.max(0, -padLeft), Math.max(0, -padRight)] as const;
    const key = cut.join(',');
    let x = crops.get(key);
    if (!x) {
      x = s.slice(dy, [0, cut[0], cut[2], 0], [n, oh - cut[0] - cut[1], ow - cut[2] - cut[3], outC]);
      crops.set(key, x);
    }
    return s.run(Conv2D, { x, filter: filters[i] as TensorInfo }, {
      strides: [1, 1],
      dilations: [1, 1],
      pad: [
        [0, 0],
        [Math.max(0, padTop), Math.max(0, padBottom)],
        [Math.max(0, padLeft), Math.max(0, padRight)],
        [0, 0],
      ],
      dataFormat: 'NHWC',
    });
  });
  // dx and the phase outputs share the heap: whole pixels move within it.
  const { heap, offsets } = floatHeap(s, [dx, ...outputs]);
  const dxBase = offsets[0]!;
  if (!covered) heap.fill(0, dxBase, dxBase + n * inHeight * inWidth * inC);
  phases.forEach((p, i) => {
    const { count: qh, first: fh } = p.rows;
    const { count: qw, first: fw } = p.cols;
    const row0 = fh * sh + p.rh - top;
    const col0 = fw * sw + p.rw - left;
    const step = sw * inC;
    let from = offsets[i + 1]!;
    for (let b = 0; b < n; b++) {
      for (let j = 0; j < qh; j++) {
        let to = dxBase + ((b * inHeight + row0 + j * sh) * inWidth + col0) * inC;
        for (let jw = 0; jw < qw; jw++, to += step, from += inC) moveFloats(heap, to, from, inC);
      }
    }
  });
  return dx;
}

/**
 * The input gradient of a 2-D convolution (and the forward pass of conv2dTranspose) as
 * XNNPACK convolutions, replacing the scalar loop of the stock wasm kernel.
 */
export function conv2dBackpropInput(args: Conv2DBackpropInputArgs, method: BackpropInputMethod = 'auto'): TensorInfo {
  const { inputs, attrs, backend } = args;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  const channelsFirst = dataFormat === 'NCHW';
  const info = backend_util.computeConv2DInfo(
    inputShape,
    shape4(inputs.filter.shape),
    strides,
    attrs.dilations ?? 1,
    pad,
    dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(dataFormat),
  );
  const dilated = info.dilationHeight > 1 || info.dilationWidth > 1;
  const strided = info.strideHeight > 1 || info.strideWidth > 1;
  // One conv per phase wastes no multiplications, but XNNPACK uses its vector lanes poorly
  // on few output channels; below 16 the merged phase conv is faster (measured at batch 16).
  const merged = (inputs.filter.shape[2] ?? 0) < 16;
  const chosen = method === 'auto' ? (strided && !dilated ? (merged ? 'phases' : 'phase-convs') : 'zero-insert') : method;
  if (chosen !== 'zero-insert' && dilated) throw new Error(`Conv2DBackpropInput: the ${chosen} method needs dilations of 1`);
  const run = { 'phase-convs': byPhaseConvs, phases: byPhases, 'zero-insert': byZeroInsertion }[chosen];

  return withWasmScope(backend, (s) => {
    const dy = channelsFirst ? s.transpose(inputs.dy, [0, 2, 3, 1]) : inputs.dy;
    const dx = run(s, dy, inputs.filter, info);
    return channelsFirst ? s.transpose(dx, [0, 3, 1, 2]) : dx;
  });
}

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: ((args: Conv2DBackpropInputArgs) => conv2dBackpropInput(args)) as unknown as KernelFunc,
};
