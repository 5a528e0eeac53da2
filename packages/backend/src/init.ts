import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from './kernels/register.js';
import { loadNativeTensorFlow } from './native/load.js';
import { defaultWasmThreads, registerThreadedWasm, type WasmPackage, wasmInitialised } from './wasm-threads.js';

export type BackendName = 'cpu' | 'wasm' | 'tensorflow';
const KNOWN: BackendName[] = ['cpu', 'wasm', 'tensorflow'];

export interface InitBackendOptions {
  /** Force a backend; `PPGN_BACKEND` wins over the default but not over this. */
  backend?: BackendName;
  /** Print a one-line reason when a faster backend was skipped. Default true. */
  verbose?: boolean;
  /**
   * Threads for XNNPACK on wasm. Node: default `PPGN_WASM_THREADS`, else the cores not busy
   * with other work (`defaultWasmThreads`); 1 runs the single-thread build. Browsers: default
   * every core, on cross-origin-isolated pages. Only the first wasm initialisation chooses.
   */
  wasmThreads?: number;
  /** Browser builds: where the page serves tfjs-backend-wasm's `.wasm` files (its `setWasmPaths`). */
  wasmPaths?: string;
}

/** Why the last `initBackend` call skipped faster engines, for logs and benchmarks. */
export const skippedReasons: string[] = [];

function parseName(name: string, source: string): BackendName {
  if (!KNOWN.includes(name as BackendName)) {
    throw new Error(`${source}: unknown backend '${name}', expected one of ${KNOWN.join(', ')}`);
  }
  return name as BackendName;
}

function parseThreads(value: number | string, source: string): number {
  const threads = Number(value);
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`${source}: wasm threads must be a positive integer, got '${value}'`);
  return threads;
}

async function useWasm(threads: number, verbose: boolean): Promise<void> {
  const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as unknown as WasmPackage;
  if (threads > 1 && !wasmInitialised()) {
    try {
      await registerThreadedWasm(wasm, threads);
    } catch (err) {
      skippedReasons.push(`wasm threads: ${(err as Error).message}`);
      if (verbose) console.error(`[ppgn] wasm on one thread: ${(err as Error).message}`);
    }
  }
  registerWasmTrainingKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
}

/**
 * Sets the fastest TensorFlow.js backend that works here and returns its name:
 * native TensorFlow (tfjs-node-gpu, tfjs-node, or a binding built by `ppgn native`) when it
 * loads and passes its numeric check, else wasm with the training kernels, else cpu.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendName> {
  const verbose = options.verbose ?? true;
  const env = process.env.PPGN_BACKEND;
  const forced = options.backend ?? (env ? parseName(env, 'PPGN_BACKEND') : undefined);
  if (options.backend) parseName(options.backend, 'initBackend');
  const threadsEnv = process.env.PPGN_WASM_THREADS;
  const threads =
    options.wasmThreads !== undefined
      ? parseThreads(options.wasmThreads, 'initBackend')
      : threadsEnv
        ? parseThreads(threadsEnv, 'PPGN_WASM_THREADS')
        : defaultWasmThreads();
  skippedReasons.length = 0;

  if (forced === 'cpu') {
    await tf.setBackend('cpu');
    return 'cpu';
  }
  if (forced === 'wasm') {
    await useWasm(threads, verbose);
    return 'wasm';
  }
  const native = await loadNativeTensorFlow();
  if (native.ok) {
    if (!(await tf.setBackend('tensorflow'))) throw new Error('the tensorflow backend failed to initialise');
    return 'tensorflow';
  }
  if (forced === 'tensorflow') {
    throw new Error(`PPGN_BACKEND=tensorflow but native TensorFlow is unavailable: ${native.reason}`);
  }
  skippedReasons.push(`native TensorFlow: ${native.reason}`);
  try {
    await useWasm(threads, verbose);
    if (verbose && process.env.PPGN_VERBOSE) console.error(`[ppgn] using wasm (${native.reason})`);
    return 'wasm';
  } catch (err) {
    skippedReasons.push(`wasm: ${(err as Error).message}`);
    if (verbose) console.error(`[ppgn] falling back to cpu: ${(err as Error).message}`);
    await tf.setBackend('cpu');
    return 'cpu';
  }
}
