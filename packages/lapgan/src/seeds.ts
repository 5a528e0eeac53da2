import { Rng } from '@ppgn/core';

/**
 * A 32-bit seed from several integers (a murmur3-style mix), so that streams such as
 * "step 137 of level 2 under seed 5" are independent and reproducible without storing
 * any generator state.
 */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (Math.floor(p) >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** An `Rng` for the stream named by `parts`. */
export function streamRng(...parts: number[]): Rng {
  return new Rng(mixSeed(...parts));
}

/** A function returning successive seeds from `rng` (for layer initialisers). */
export function seedSource(rng: Rng): () => number {
  return () => rng.int(2 ** 31 - 1);
}
