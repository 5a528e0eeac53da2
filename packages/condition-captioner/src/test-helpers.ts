// Helpers for this package's tests: backend selection and tiny seeded captioners.
import { initBackend } from '@ppgn/backend';
import { SHAPES_VOCABULARY } from '@ppgn/data';
import * as tf from '@tensorflow/tfjs';
import { type Captioner, buildCaptioner } from './captioner.js';

/** The backends every test file runs on. */
export const BACKENDS = ['cpu', 'wasm'] as const;

let wasmReady: Promise<unknown> | undefined;

/** Registers wasm (once per process) and makes `backend` current. */
export async function useBackend(backend: (typeof BACKENDS)[number]): Promise<void> {
  wasmReady ??= initBackend({ backend: 'wasm', verbose: false });
  await wasmReady;
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed to initialise`);
}

/** A tiny captioner over the shapes vocabulary (32x32x3 images, up to 10 words). */
export function tinyCaptioner(seed: number, maxLength = 10): Captioner {
  return buildCaptioner({
    vocabulary: SHAPES_VOCABULARY,
    maxLength,
    seed,
    channels: [6, 8],
    features: 10,
    embed: 6,
    hidden: 9,
  });
}

/** Largest absolute difference between two arrays. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}
