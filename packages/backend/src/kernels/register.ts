/** Registers the kernels wasm needs for training (filled in by the kernels work). */
export function registerWasmTrainingKernels(): void {}
