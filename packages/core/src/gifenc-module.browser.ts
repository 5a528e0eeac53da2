// @ts-expect-error gifenc ships no types; gifenc-module.ts declares the parts used
import { applyPalette, GIFEncoder, quantize } from 'gifenc';
import type { Gifenc } from './gifenc-module.js';

/** `gifenc` in a browser bundle, where the bundler resolves it (stands in for gifenc-module.ts). */
export function loadGifenc(): Gifenc {
  return { GIFEncoder, quantize, applyPalette } as Gifenc;
}
