export { initBackend, skippedReasons, type BackendName, type InitBackendOptions } from './init.js';
export { registerWasmTrainingKernels } from './kernels/register.js';
export { stockWasmKernel, wasmTrainingKernels } from './kernels/register.js';
export { loadNativeTensorFlow, type NativeLoadResult } from './native/load.js';
export { compareWithCpu } from './native/check.js';
export {
  buildNative,
  validateBuildOptions,
  NativeBuildError,
  type BuildNativeOptions,
  type BuildNativeResult,
} from './native/build.js';
export { parseNativeArgs, runNativeCli, NativeArgsError, NATIVE_USAGE, type NativeCommand } from './native/args.js';
export { nativeRoot, listBuilds, type NativeManifest } from './native/paths.js';
export {
  createWorkerPool,
  WorkerPool,
  WorkerTaskError,
  type MapOptions,
  type WorkerPoolOptions,
} from './pool/worker-pool.js';
export {
  DataParallelTrainer,
  shardSizes,
  type GradientResult,
  type OptimizerSpec,
  type StepTiming,
  type TrainerOptions,
} from './pool/trainer.js';
export { resolveLoss, batchLoss, type LossFunction } from './pool/losses.js';
export type { LossName, LossSpec, ModuleExport, TaskContext } from './pool/protocol.js';
export { defaultWasmThreads, wasmInitialised, wasmThreadCount } from './wasm-threads.js';
