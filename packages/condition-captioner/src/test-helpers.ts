// Helpers for this package's tests: backend selection and tiny seeded captioners.
import { SHAPES_VOCABULARY } from '@ppgn/data';
import { type Captioner, buildCaptioner } from './captioner.js';

/** The backends every test file runs on. */
export { TEST_BACKENDS as BACKENDS, useBackend } from '@ppgn/backend/testing';

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
