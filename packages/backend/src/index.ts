export { initBackend, skippedReasons, type BackendName, type InitBackendOptions } from './init.js';
export { registerWasmTrainingKernels } from './kernels/register.js';
