import { createRequire } from 'node:module';

/** The parts of `gifenc` (pure JS, no types of its own) that gif.ts uses. */
export type Palette = number[][];
export interface GifencEncoder {
  writeFrame(index: Uint8Array, width: number, height: number, opts: { palette?: Palette; delay?: number; repeat?: number }): void;
  finish(): void;
  bytes(): Uint8Array;
}
export interface Gifenc {
  GIFEncoder(): GifencEncoder;
  quantize(rgba: Uint8Array, maxColors: number): Palette;
  applyPalette(rgba: Uint8Array, palette: Palette): Uint8Array;
}

let gifencModule: Gifenc | undefined;

/** `gifenc` in Node, where it ships CommonJS without an `exports` map (browser bundles: gifenc-module.browser.ts). */
export function loadGifenc(): Gifenc {
  gifencModule ??= createRequire(import.meta.url)('gifenc') as Gifenc;
  return gifencModule;
}
