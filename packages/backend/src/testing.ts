import * as tf from '@tensorflow/tfjs';
import { initBackend } from './init.js';

/**
 * For test files of packages built on ppgn.js: run each suite on every backend.
 * `useBackend` registers wasm (with the training kernels) once per process, then makes the
 * given backend current.
 */
export const TEST_BACKENDS = ['cpu', 'wasm'] as const;
export type TestBackend = (typeof TEST_BACKENDS)[number];

let wasmReady: Promise<unknown> | undefined;

export async function useBackend(backend: TestBackend): Promise<void> {
  wasmReady ??= initBackend({ backend: 'wasm', verbose: false });
  await wasmReady;
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed to initialise`);
}
