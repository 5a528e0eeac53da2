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
export type BackpropInputMethod = 'auto' | 'phases' | 'zero-insert';

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

/**
 * The filter of the transposed correlation, split into stride phases:
 *   G[u, v, co, (rh*sw + rw)*Cin + ci] = w[rh + (th-1-u)*sh, rw + (tw-1-v)*sw, ci, co]
 * with th = ceil(kh/sh), tw = ceil(kw/sw), zero where the tap falls past the filter. With
 * strides of 1 this is the flipped filter with in/out channels swapped, [kh, kw, Cout, Cin].
 * Written in one pass over heap views: the stock Reverse and rank-6 Transpose are scalar
 * loops that cost more than the convolution for large filters.
 */
export function phaseFilter(s: WasmKernelScope, filter: TensorInfo, sh: number, sw: number): TensorInfo {
  const [kh, kw, inC, outC] = shape4(filter.shape);
  const th = Math.ceil(kh / sh);
  const tw = Math.ceil(kw / sw);
  const phases = sh * sw * inC;
  const out = s.makeOutput([th, tw, outC, phases]);
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
 * are then interleaved into rows and columns (a depth-to-space) and the padding cropped off.
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
  // Interleave the phases: [N, qh, qw, (rh, rw, ci)] -> [N, qh, rh, qw, (rw, ci)], as one 4-D
  // transpose of [N*qh, qw, rh, rw*ci] (the stock DepthToSpace is a slower scalar loop).
  const qh = oh + bottom;
  const qw = ow + right;
  const blocks = s.reshape(conv, [n * qh, qw, sh, sw * inC]);
  const full = s.reshape(s.transpose(blocks, [0, 2, 1, 3]), [n, qh * sh, qw * sw, inC]);
  return s.slice(full, [0, top, left, 0], [n, inHeight, inWidth, inC]);
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
  const usePhases = method === 'phases' || (method === 'auto' && strided && !dilated);
  if (usePhases && dilated) throw new Error('Conv2DBackpropInput: the phase method needs dilations of 1');

  return withWasmScope(backend, (s) => {
    const dy = channelsFirst ? s.transpose(inputs.dy, [0, 2, 3, 1]) : inputs.dy;
    const dx = usePhases ? byPhases(s, dy, inputs.filter, info) : byZeroInsertion(s, dy, inputs.filter, info);
    return channelsFirst ? s.transpose(dx, [0, 3, 1, 2]) : dx;
  });
}

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: ((args: Conv2DBackpropInputArgs) => conv2dBackpropInput(args)) as unknown as KernelFunc,
};
