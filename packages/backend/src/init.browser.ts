/**
 * init.ts in a browser bundle: wasm with the training kernels (tfjs-backend-wasm picks its
 * threaded build itself on cross-origin-isolated pages), else cpu.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendName, InitBackendOptions } from './init.js';
import { registerWasmTrainingKernels } from './kernels/register.js';

export type { BackendName, InitBackendOptions };

/** Why the last `initBackend` call skipped faster engines. */
export const skippedReasons: string[] = [];

/** Makes `navigator.hardwareConcurrency` read `cores` until the returned function is called. */
function showCores(navigator: object, cores: number): (() => void) | undefined {
  try {
    Object.defineProperty(navigator, 'hardwareConcurrency', { value: cores, configurable: true });
  } catch {
    return undefined; // a frozen navigator: tfjs's own count stands
  }
  return () => {
    delete (navigator as { hardwareConcurrency?: number }).hardwareConcurrency;
  };
}

/**
 * Sets wasm with this package's training kernels (or cpu when wasm cannot start) and returns
 * its name. `wasmPaths` says where the page serves tfjs-backend-wasm's `.wasm` files;
 * `wasmThreads` defaults to every core (`navigator.hardwareConcurrency`).
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendName> {
  const verbose = options.verbose ?? true;
  skippedReasons.length = 0;
  if (options.backend === 'tensorflow') throw new Error("initBackend: native TensorFlow needs Node; in a browser use 'wasm' or 'cpu'");
  if (options.backend !== undefined && options.backend !== 'wasm' && options.backend !== 'cpu') {
    throw new Error(`initBackend: unknown backend '${options.backend as string}', expected one of wasm, cpu`);
  }
  if (options.backend === 'cpu') {
    await tf.setBackend('cpu');
    return 'cpu';
  }
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (options.wasmPaths) wasm.setWasmPaths(options.wasmPaths);
    // A page in front of its user may take every core (threads need a cross-origin-isolated
    // page; elsewhere tfjs runs one).
    const navigator = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
    const threads = options.wasmThreads ?? navigator?.hardwareConcurrency;
    if (threads) wasm.setThreadsCount(threads);
    registerWasmTrainingKernels();
    // The threaded build caps its pool at half the logical cores it reads when it starts (it
    // assumes two hyperthreads per core): show it enough for the count asked for.
    const shown = navigator && threads ? showCores(navigator, 2 * threads) : undefined;
    try {
      if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
    } finally {
      shown?.();
    }
    return 'wasm';
  } catch (err) {
    if (options.backend === 'wasm') throw err;
    skippedReasons.push(`wasm: ${(err as Error).message}`);
    if (verbose) console.error(`[ppgn] falling back to cpu: ${(err as Error).message}`);
    await tf.setBackend('cpu');
    return 'cpu';
  }
}
