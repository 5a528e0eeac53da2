/**
 * XNNPACK on several threads in Node. tfjs-backend-wasm ships a threaded SIMD build but never
 * uses it in Node: its loader hands emscripten `blob:` URLs for the pthread worker and the main
 * script, which Node's worker_threads cannot start. This loads the same build from its files
 * and registers it as the 'wasm' backend, so every wasm kernel (stock and ours) that runs an
 * XNNPACK operator spreads it over the thread pool.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

const require = createRequire(import.meta.url);

/** The emscripten module of the threaded build (only what this file touches). */
interface ThreadedModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => unknown;
  PThread: { runningWorkers: { unref(): void }[] };
  tfjs?: Record<string, unknown>;
}
type ModuleFactory = (config: Record<string, unknown>) => Promise<ThreadedModule>;

/**
 * Default thread count: the cores this process may use that other work is not already
 * using (by the 1-minute load average), at least 1. A pool thread that shares its core with
 * another busy process makes every operation wait for it: measured on 2 cores with one held
 * by another process, 2 threads ran a training step at 0.7x the speed of 1.
 */
export function defaultWasmThreads(): number {
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const idle = Math.round(cores - (os.loadavg()[0] ?? 0));
  return Math.min(cores, Math.max(1, idle));
}

/** What this file uses of '@tensorflow/tfjs-backend-wasm' (the instance that registered the kernels). */
export interface WasmPackage {
  BackendWasm: new (module: never) => tf.KernelBackend;
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
  version_wasm: string;
}

/** Whether the wasm backend has been created (finding it with tf.findBackend would create it). */
export function wasmInitialised(): boolean {
  return 'wasm' in tf.engine().registry;
}

/** Threads the wasm backend runs XNNPACK on; undefined until the backend is created. */
export function wasmThreadCount(): number | undefined {
  const backend = tf.engine().registry.wasm as unknown as { wasm: { tfjs: { getThreadsCount(): number } } } | undefined;
  return backend?.wasm.tfjs.getThreadsCount();
}

/**
 * The pthread worker script, written once per tfjs version next to the other temporary files
 * (emscripten starts workers from a file path; the package ships the script only as a string).
 */
function workerScript(outDir: string, version: string): string {
  const { wasmWorkerContents } = require(join(outDir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents: string;
  };
  // The string holds "\n" escapes inside JS string literals; written as is they would be newlines.
  const contents = wasmWorkerContents.replace(/\n/g, '\\n');
  const dir = join(os.tmpdir(), `ppgn-tfjs-wasm-${version}`);
  const file = join(dir, 'pthread-worker.cjs');
  if (existsSync(file) && readFileSync(file, 'utf8') === contents) return file;
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, file);
  return file;
}

/**
 * Registers the threaded SIMD build as the 'wasm' backend with `threads` XNNPACK threads.
 * Call after importing '@tensorflow/tfjs-backend-wasm' and before the wasm backend is first
 * used; throws (leaving the stock backend registered) when the build cannot start here.
 */
export async function registerThreadedWasm(wasm: WasmPackage, threads: number): Promise<void> {
  if (!Number.isInteger(threads) || threads < 2) throw new Error(`wasm threads must be an integer >= 2, got ${threads}`);
  if (wasmInitialised()) throw new Error('the wasm backend is already initialised; threads must be chosen before first use');
  const outDir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  const mainScript = join(outDir, 'tfjs-backend-wasm-threaded-simd.js');
  const factory = require(mainScript) as ModuleFactory;
  const worker = workerScript(outDir, wasm.version_wasm);

  // The build caps its pool at half the logical cores it reads from os.cpus() when it starts
  // (it assumes two hyperthreads per core); show it enough cores for the count asked for.
  const nodeOs = require('node:os') as typeof os;
  const realCpus = nodeOs.cpus;
  nodeOs.cpus = () => Array.from({ length: 2 * threads }, () => realCpus()[0]!);
  let module: ThreadedModule;
  try {
    module = await factory({
      locateFile: (path: string) => (path.endsWith('.worker.js') ? worker : join(outDir, path)),
      mainScriptUrlOrBlob: mainScript,
    });
  } finally {
    nodeOs.cpus = realCpus;
  }
  // The same C entry points tfjs-backend-wasm's own loader wraps.
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  wasm.setThreadsCount(threads);
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    () => {
      const backend = new wasm.BackendWasm(module as never);
      // Pool threads hold their workers referenced; unreferenced, they no longer keep Node alive.
      for (const w of module.PThread.runningWorkers) w.unref();
      return backend;
    },
    2,
  );
}
