/**
 * @ppgn/backend in a browser bundle (the `browser` export condition): wasm made trainable by
 * this package's kernels, or cpu. Native TensorFlow, the worker-thread pool and `ppgn native`
 * need Node and are not part of this entry.
 */
export { initBackend, skippedReasons, type BackendName, type InitBackendOptions } from './init.js';
export { registerWasmTrainingKernels, stockWasmKernel, wasmTrainingKernels } from './kernels/register.js';
export { compareWithCpu } from './native/check.js';
