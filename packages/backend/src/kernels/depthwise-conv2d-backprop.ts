import {
  backend_util,
  DepthwiseConv2dNative,
  DepthwiseConv2dNativeBackpropFilter,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  DepthwiseConv2dNativeBackpropInput,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  Sum,
  type TensorInfo,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { zeroInsertedGradient } from './conv2d-backprop-input.js';
import { shape4, type WasmKernelScope, withWasmScope } from './wasm-kernel-scope.js';

/** The filter [kh, kw, C, m] flipped in space, as a multiplier-1 depthwise filter [kh, kw, C*m, 1]. */
function flippedDepthwiseFilter(s: WasmKernelScope, filter: TensorInfo): TensorInfo {
  const [kh, kw, c, m] = shape4(filter.shape);
  const depth = c * m;
  const out = s.makeOutput([kh, kw, depth, 1]);
  const dst = s.backend.typedArrayFromHeap(out);
  const src = s.backend.typedArrayFromHeap(filter);
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const from = ((kh - 1 - a) * kw + (kw - 1 - b)) * depth;
      dst.set(src.subarray(from, from + depth), (a * kw + b) * depth);
    }
  }
  return out;
}

/**
 * The input gradient of a depthwise convolution: a multiplier-1 depthwise conv (XNNPACK)
 * over the zero-inserted gradient [N, H', W', C*m] with the spatially flipped filter,
 * then a sum over the channel multiplier m.
 */
export function depthwiseConv2dBackpropInput(args: {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  attrs: DepthwiseConv2dNativeBackpropInputAttrs;
  backend: BackendWasm;
}): TensorInfo {
  const { inputs, attrs, backend } = args;
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs;
  const filterShape = shape4(inputs.filter.shape);
  const info = backend_util.computeConv2DInfo(inputShape, filterShape, strides, dilations, pad, dimRoundingMode, true);
  const [n, h, w, c] = inputShape;
  const m = filterShape[3];
  return withWasmScope(backend, (s) => {
    const { x, pad: explicit } = zeroInsertedGradient(s, inputs.dy, info);
    const conv = s.run(DepthwiseConv2dNative, { x, filter: flippedDepthwiseFilter(s, inputs.filter) }, {
      strides: [1, 1],
      dilations: [info.dilationHeight, info.dilationWidth],
      pad: explicit,
      dataFormat: 'NHWC',
    });
    if (m === 1) return conv;
    return s.run(Sum, { x: s.reshape(conv, [n, h, w, c, m]) }, { axis: [4], keepDims: false });
  });
}

/**
 * dy tiles are at most this many rows / columns. XNNPACK's depthwise conv is fast for 3x3
 * and 5x5 filters and slow for large ones (a whole 32x32 dy as the filter ran ~40x slower
 * than the forward conv); 3x3 tiles measured best.
 */
const TILE = 3;

/**
 * The filter gradient of a depthwise convolution:
 *   dw[a, b, c, q] = sum_{n, i, j} x[n, i*s + a*d - pt, j*s + b*d - pl, c] * dy[n, i, j, c*m + q]
 * is a depthwise conv whose *filter* is dy (stride and dilation swapped) and whose output is
 * the small kh x kw grid. XNNPACK is fast only for small depthwise filters, so dy is cut into
 * T x T tiles (T <= 3), each tile and the patch of x it reads become channels of their own:
 *   x' [1, L_h, L_w, G*C]  with  x'[u, v, (g, c)] = x[n, I*T*s - pt + u, J*T*s - pl + v, c]
 *   dy'[T, T, G*C, m]      with  dy'[u, v, (g, c), q] = dy[n, I*T + u, J*T + v, c*m + q]
 * for the G = tiles * N groups g = (I, J, n) (zeros outside x and dy), one depthwise conv
 * gives [1, kh, kw, G*C*m], and a sum over the groups gives dw. The two gathers are plain
 * copies over heap views.
 */
export function depthwiseConv2dBackpropFilter(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  attrs: DepthwiseConv2dNativeBackpropFilterAttrs;
  backend: BackendWasm;
}): TensorInfo {
  const { inputs, attrs, backend } = args;
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs;
  const info = backend_util.computeConv2DInfo(shape4(inputs.x.shape), filterShape, strides, dilations, pad, dimRoundingMode, true);
  const [kh, kw, c, m] = filterShape;
  const [n, inH, inW] = shape4(inputs.x.shape);
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const th = Math.min(TILE, oh);
  const tw = Math.min(TILE, ow);
  const tilesH = Math.ceil(oh / th);
  const tilesW = Math.ceil(ow / tw);
  const groups = tilesH * tilesW * n;
  const lh = (th - 1) * sh + (kh - 1) * dh + 1;
  const lw = (tw - 1) * sw + (kw - 1) * dw + 1;
  const depth = c * m;

  return withWasmScope(backend, (s) => {
    const patches = s.makeOutput([1, lh, lw, groups * c]);
    const tiles = s.makeOutput([th, tw, groups * c, m]);
    // Views are taken after the allocations: growing the heap detaches older ones.
    const px = backend.typedArrayFromHeap(patches);
    const pd = backend.typedArrayFromHeap(tiles);
    const x = backend.typedArrayFromHeap(inputs.x);
    const dy = backend.typedArrayFromHeap(inputs.dy);
    px.fill(0);
    pd.fill(0);
    for (let ti = 0; ti < tilesH; ti++) {
      for (let tj = 0; tj < tilesW; tj++) {
        for (let b = 0; b < n; b++) {
          const g = (ti * tilesW + tj) * n + b;
          // x' rows and columns of this group.
          const row0 = ti * th * sh - top;
          const col0 = tj * tw * sw - left;
          for (let u = 0; u < lh; u++) {
            const r = row0 + u;
            if (r < 0 || r >= inH) continue;
            for (let v = 0; v < lw; v++) {
              const col = col0 + v;
              if (col < 0 || col >= inW) continue;
              const from = ((b * inH + r) * inW + col) * c;
              const to = ((u * lw + v) * groups + g) * c;
              if (c >= 16) px.set(x.subarray(from, from + c), to);
              else for (let k = 0; k < c; k++) px[to + k] = x[from + k] as number;
            }
          }
          // dy' taps of this group.
          for (let u = 0; u < th; u++) {
            const i = ti * th + u;
            if (i >= oh) break;
            for (let v = 0; v < tw; v++) {
              const j = tj * tw + v;
              if (j >= ow) break;
              const from = ((b * oh + i) * ow + j) * depth;
              const to = ((u * tw + v) * groups + g) * depth;
              if (depth >= 16) pd.set(dy.subarray(from, from + depth), to);
              else for (let k = 0; k < depth; k++) pd[to + k] = dy[from + k] as number;
            }
          }
        }
      }
    }
    const conv = s.run(DepthwiseConv2dNative, { x: patches, filter: tiles }, {
      strides: [dh, dw],
      dilations: [sh, sw],
      pad: 'valid',
      dataFormat: 'NHWC',
    });
    if (groups === 1) return s.reshape(conv, [kh, kw, c, m]);
    const perGroup = s.reshape(conv, [kh * kw, groups, depth]);
    const summed = s.run(Sum, { x: s.transpose(perGroup, [0, 2, 1]) }, { axis: [2], keepDims: false });
    return s.reshape(summed, [kh, kw, c, m]);
  });
}

export const depthwiseConv2dBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dBackpropInput as unknown as KernelFunc,
};

export const depthwiseConv2dBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dBackpropFilter as unknown as KernelFunc,
};
