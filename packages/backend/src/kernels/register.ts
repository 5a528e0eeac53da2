/**
 * Makes the tfjs wasm backend (4.22) able to train conv nets, transposed-conv generators,
 * depthwise convs and embedding + LSTM models, and fast at it. Every kernel here is checked
 * against the cpu backend on random inputs over many shapes, strides, paddings, dilations,
 * batch sizes and channel counts (the `*.test.ts` files beside it), and tiny models of each
 * kind train on wasm with gradients equal to cpu's (`training.test.ts`).
 *
 * Missing from wasm, so training stopped with "kernel not registered":
 * - `Conv2DBackpropFilter` (filter gradient of conv2d; input gradient of conv2dTranspose):
 *   one XNNPACK convolution over transposed tensors (batch and channels swapped, dy as the
 *   filter, stride and dilation swapped), or, up to 32 input channels on larger maps,
 *   XNNPACK matrix products of shifted windows of the input's stride phases with dy.
 * - `DepthwiseConv2dNativeBackpropInput`: an XNNPACK depthwise conv over the zero-inserted
 *   gradient with the flipped filter, plus a sum over the channel multiplier.
 * - `DepthwiseConv2dNativeBackpropFilter`: an XNNPACK depthwise conv with dy as the filter,
 *   cut into 3x3 tiles that, with the batch, are folded into the channels (XNNPACK is slow
 *   for large depthwise filters), then a sum over tiles and batch.
 * - `UnsortedSegmentSum` (the gradient of gather, so of every embedding): wasm `ScatterNd`,
 *   which adds rows that share an index; out-of-range ids are dropped as on cpu.
 *
 * Present in wasm but replaced:
 * - `Conv2DBackpropInput` (input gradient of conv2d; the forward pass of conv2dTranspose):
 *   the stock kernel is a scalar C++ loop. Strided cases become one exact XNNPACK conv per
 *   stride phase over the un-inserted gradient, written straight into its rows and columns
 *   of dx (below 16 channels, one conv for all phases, copied into dx the same way): no
 *   multiplications by inserted zeros. Stride 1 is one conv with the flipped, transposed
 *   filter; dilated filters conv over the zero-inserted gradient.
 *   5-10x faster than the stock kernel on generator-sized layers (measured by
 *   `transposed-conv-timing.test.ts`, run with PPGN_BENCH=1).
 * - `OneHot`: the stock kernel writes int32 words whatever the dtype, so a float32 one-hot
 *   reads back as denormal garbage (1 becomes 1.4e-45).
 * - `MaxPoolGrad`: the stock kernel gives no gradient to a window whose values are all
 *   negative, which is common after LeakyReLU or batch norm. Rewritten to match cpu
 *   exactly (each dy goes to the first maximum of its window); also faster.
 * - `BatchMatMul`: the stock kernel uses XNNPACK only for an unbatched `a @ b`; with
 *   transposeA or transposeB (the backward pass of every dense layer) it runs a scalar
 *   loop, 4-30x slower. Transposed operands are transposed first (or the product is taken
 *   as (b^T a^T)^T when that moves fewer numbers) and the plain product goes to XNNPACK.
 * - `Identity`: the stock kernel copies the buffer; ours shares it (reference counted), as
 *   cpu does. A sampler step of the reference pair made 59 copies.
 * - `LeakyRelu` and `Greater` (a LeakyReLU layer forward and backward): the stock kernels
 *   branch on every element, 3-4 ns each on activations, 20-30x XNNPACK's Relu; branch-free
 *   loops over the heap are 3x faster (Greater: scalar or same-shape float operands; other
 *   cases go to the stock kernel).
 * The displaced stock kernels stay callable through `stockWasmKernel` (for comparisons).
 *
 * Checked against cpu and kept (`stock-kernels.test.ts`): Conv2D, FusedConv2D (bias +
 * LeakyReLU), DepthwiseConv2dNative, MaxPool, AvgPool, AvgPoolGrad,
 * ResizeBilinear, ResizeBilinearGrad, Prelu, FusedBatchNorm and the ops behind
 * the batch-norm, LSTM and Adam gradients. Not used in training and left alone: the stock
 * `MaxPoolWithArgmax` disagrees with cpu on some windows too.
 *
 * Call after importing '@tensorflow/tfjs-backend-wasm' (which registers its own kernels on
 * import) and preferably before `tf.setBackend('wasm')`, as `initBackend` does. Calling it
 * again, or from a second copy of this module, re-installs the same kernels quietly and
 * keeps the stock ones it displaced.
 */
import { findBackendFactory, getKernel, type KernelConfig, registerKernel, unregisterKernel } from '@tensorflow/tfjs';
import { batchMatMulConfig } from './batch-mat-mul.js';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.js';
import { depthwiseConv2dBackpropFilterConfig, depthwiseConv2dBackpropInputConfig } from './depthwise-conv2d-backprop.js';
import { greaterConfig, leakyReluConfig } from './elementwise.js';
import { identityConfig } from './identity.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { oneHotConfig } from './one-hot.js';
import { stockKernels, stockWasmKernel } from './stock.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';

/** Every kernel this package registers for the wasm backend. */
export const wasmTrainingKernels: readonly KernelConfig[] = [
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  depthwiseConv2dBackpropInputConfig,
  depthwiseConv2dBackpropFilterConfig,
  unsortedSegmentSumConfig,
  oneHotConfig,
  maxPoolGradConfig,
  batchMatMulConfig,
  identityConfig,
  leakyReluConfig,
  greaterConfig,
];

const OURS = Symbol.for('@ppgn/backend:wasm-training-kernel');
type Marked = KernelConfig & { [OURS]?: true };

export { stockWasmKernel };

/** Registers the wasm kernels that training needs (see the list at the top of this file). */
export function registerWasmTrainingKernels(): void {
  if (!findBackendFactory('wasm')) {
    // Registering first would be undone when the wasm package registers its own kernels.
    throw new Error("import '@tensorflow/tfjs-backend-wasm' before registering its training kernels");
  }
  const stock = stockKernels();
  for (const config of wasmTrainingKernels) {
    const { kernelName } = config;
    const current = getKernel(kernelName, 'wasm') as Marked | undefined;
    if (current?.[OURS] && current.kernelFunc === config.kernelFunc) continue;
    if (current) {
      if (!current[OURS] && !stock.has(kernelName)) stock.set(kernelName, current);
      unregisterKernel(kernelName, 'wasm');
    }
    const displaced = stock.get(kernelName);
    const marked: Marked = {
      ...config,
      // Keep the displaced kernel's wasm bindings alive for stockWasmKernel().
      setupFunc: (backend) => {
        displaced?.setupFunc?.(backend);
        config.setupFunc?.(backend);
      },
      [OURS]: true,
    };
    registerKernel(marked);
  }
}
