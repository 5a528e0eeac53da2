import {
  backend_util,
  Conv2D,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type ExplicitPad, shape4, withWasmScope } from './wasm-kernel-scope.js';

/**
 * The filter gradient of a 2-D convolution, as one wasm (XNNPACK) convolution over
 * transposed tensors.
 *
 * For `y = conv2d(x, w)` with stride s, dilation d and top/left padding (pt, pl):
 *   dw[a, b, ci, co] = sum_{n, i, j} x[n, i*s + a*d - pt, j*s + b*d - pl, ci] * dy[n, i, j, co]
 * which is itself a convolution whose batch is the input channels, whose channels are the
 * batch, whose "filter" is dy, with stride d and dilation s:
 *   x' = x^T [Cin, H, W, N],  dy' = dy^T [oh, ow, N, Cout],  conv2d(x', dy') -> [Cin, kh, kw, Cout]
 * and one more transpose gives [kh, kw, Cin, Cout]. A `dilations` attribute is honoured
 * when present (the tfjs kernel interface has none: its conv gradients assume 1).
 */
export function conv2dBackpropFilter(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  attrs: Conv2DBackpropFilterAttrs & { dilations?: number | [number, number] };
  backend: BackendWasm;
}): TensorInfo {
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
  const [kh, kw, inC, outC] = filterShape;
  const { inHeight, inWidth, outHeight, outWidth, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;

  return withWasmScope(backend, (s) => {
    const x = channelsFirst ? s.transpose(inputs.x, [0, 2, 3, 1]) : inputs.x;
    const dy = channelsFirst ? s.transpose(inputs.dy, [0, 2, 3, 1]) : inputs.dy;
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
  });
}

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as unknown as KernelFunc,
};
