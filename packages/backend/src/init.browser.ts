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

/**
 * Sets wasm with this package's training kernels (or cpu when wasm cannot start) and returns
 * its name. `wasmPaths` says where the page serves tfjs-backend-wasm's `.wasm` files.
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
    registerWasmTrainingKernels();
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
    return 'wasm';
  } catch (err) {
    if (options.backend === 'wasm') throw err;
    skippedReasons.push(`wasm: ${(err as Error).message}`);
    if (verbose) console.error(`[ppgn] falling back to cpu: ${(err as Error).message}`);
    await tf.setBackend('cpu');
    return 'cpu';
  }
}
