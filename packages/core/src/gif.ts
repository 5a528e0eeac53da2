import type { Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { type ImageBytes, toImageBytes, valuesToImageBytes } from './images.js';
import { loadGifenc, type Palette } from './gifenc-module.js';
import { writeFileAtomic } from './model-files.js';

/**
 * Animated GIFs of image sequences (a sampling chain, one frame per step; each frame an
 * image or a grid), encoded with `gifenc` (pure JS, no dependencies). Gray frames and
 * sequences with at most 256 distinct colours are stored exactly; otherwise one palette
 * is quantised for the whole sequence (no flicker between frames) or, on request, one per
 * frame. `decodeGif` reads such files back (for tests and previews).
 */

const gifenc = loadGifenc;

export interface GifOptions {
  /** Time each frame is shown, in ms (GIF stores 1/100 s); one number or one per frame. Default 100. */
  delayMs?: number | readonly number[];
  /** true: loop forever (default); false: play once; n: play n + 1 times. */
  loop?: boolean | number;
  /** One palette for the whole sequence (default) or one per frame. */
  palette?: 'global' | 'per-frame';
  /** Colours per palette when quantising, 2..256. Default 256. */
  maxColors?: number;
}

/** One frame: an image [H, W, C] or [1, H, W, C]. */
export type GifFrame = Tensor3D | Tensor4D;

function framesToBytes(frames: Tensor4D | readonly GifFrame[], who: string): ImageBytes[] {
  const list: ImageBytes[] = [];
  if (!Array.isArray(frames)) {
    const batch = frames as Tensor4D;
    if (batch.rank !== 4) throw new Error(`${who}: expected frames [T, H, W, C] or a list of images, got shape [${batch.shape.join(', ')}]`);
    const [t, h, w, c] = batch.shape;
    const values = batch.dataSync();
    const size = h * w * c;
    for (let i = 0; i < t; i++) {
      list.push(valuesToImageBytes(values.subarray(i * size, (i + 1) * size), [h, w, c], who));
    }
  } else {
    for (const f of frames as readonly GifFrame[]) list.push(toImageBytes(f, who));
  }
  if (list.length === 0) throw new Error(`${who}: no frames`);
  const { width, height } = list[0]!;
  list.forEach((f, i) => {
    if (f.width !== width || f.height !== height) {
      throw new Error(`${who}: frame ${i} is ${f.width}x${f.height} but frame 0 is ${width}x${height}`);
    }
  });
  return list;
}

function toRgba(f: ImageBytes): Uint8Array {
  const n = f.width * f.height;
  const rgba = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) rgba[4 * i + k] = f.data[f.channels * i + (f.channels === 3 ? k : 0)]!;
    rgba[4 * i + 3] = 255;
  }
  return rgba;
}

/** The distinct colours of `frames` (as 0xRRGGBB) when there are at most `max`, else undefined. */
function exactColors(rgbas: readonly Uint8Array[], max: number): Map<number, number> | undefined {
  const colors = new Map<number, number>();
  for (const rgba of rgbas) {
    for (let i = 0; i < rgba.length; i += 4) {
      const key = (rgba[i]! << 16) | (rgba[i + 1]! << 8) | rgba[i + 2]!;
      if (!colors.has(key)) {
        if (colors.size === max) return undefined;
        colors.set(key, colors.size);
      }
    }
  }
  return colors;
}

function indexExact(rgba: Uint8Array, colors: Map<number, number>): Uint8Array {
  const index = new Uint8Array(rgba.length / 4);
  for (let i = 0; i < index.length; i++) {
    index[i] = colors.get((rgba[4 * i]! << 16) | (rgba[4 * i + 1]! << 8) | rgba[4 * i + 2]!)!;
  }
  return index;
}

function paletteOf(colors: Map<number, number>): Palette {
  const palette: Palette = [];
  for (const [key, i] of colors) palette[i] = [(key >> 16) & 255, (key >> 8) & 255, key & 255];
  return palette;
}

/** Up to ~1M pixels spread over all frames, for building one palette. */
function samplePixels(rgbas: readonly Uint8Array[]): Uint8Array {
  const total = rgbas.reduce((a, r) => a + r.length / 4, 0);
  const stride = Math.max(1, Math.ceil(total / (1 << 20)));
  const out = new Uint8Array(Math.ceil(total / stride) * 4);
  let o = 0;
  let p = 0;
  for (const rgba of rgbas) {
    for (let i = 0; i < rgba.length / 4; i++, p++) {
      if (p % stride !== 0) continue;
      out.set(rgba.subarray(4 * i, 4 * i + 4), o);
      o += 4;
    }
  }
  return out.subarray(0, o);
}

/**
 * Encodes frames (a [T, H, W, C] batch or a list of [H, W, C] / [1, H, W, C] images, all
 * the same size, values clipped to [0, 1]) as an animated GIF89a. Makes no tensors.
 */
export function encodeGif(frames: Tensor4D | readonly GifFrame[], options: GifOptions = {}): Uint8Array {
  const who = 'encodeGif';
  const list = framesToBytes(frames, who);
  const maxColors = options.maxColors ?? 256;
  if (!Number.isInteger(maxColors) || maxColors < 2 || maxColors > 256) {
    throw new Error(`${who}: maxColors must be an integer in 2..256, got ${maxColors}`);
  }
  const delays = list.map((_, i) => {
    const d = typeof options.delayMs === 'number' || options.delayMs === undefined ? (options.delayMs ?? 100) : options.delayMs[i];
    if (d === undefined || !Number.isFinite(d) || d < 0) throw new Error(`${who}: no valid delay for frame ${i} (got ${d})`);
    return d;
  });
  const loop = options.loop ?? true;
  const repeat = loop === true ? 0 : loop === false ? -1 : loop;
  if (!Number.isInteger(repeat) || repeat < -1 || repeat > 65535) throw new Error(`${who}: loop must be a boolean or an integer 0..65535`);

  const lib = gifenc();
  const rgbas = list.map(toRgba);
  const { width, height } = list[0]!;
  const encoder = lib.GIFEncoder();
  const exact = options.palette === 'per-frame' ? undefined : exactColors(rgbas, maxColors);
  const globalPalette =
    options.palette === 'per-frame' ? undefined : exact ? paletteOf(exact) : lib.quantize(samplePixels(rgbas), maxColors);
  rgbas.forEach((rgba, i) => {
    let palette = globalPalette;
    let index: Uint8Array;
    if (palette === undefined) {
      const own = exactColors([rgba], maxColors);
      palette = own ? paletteOf(own) : lib.quantize(rgba, maxColors);
      index = own ? indexExact(rgba, own) : lib.applyPalette(rgba, palette);
    } else {
      index = exact ? indexExact(rgba, exact) : lib.applyPalette(rgba, palette);
    }
    const first = i === 0;
    encoder.writeFrame(index, width, height, {
      palette: first || globalPalette === undefined ? palette : undefined,
      delay: delays[i],
      repeat,
    });
  });
  encoder.finish();
  return encoder.bytes();
}

/** `encodeGif` written to a file, atomically (temp file + rename). */
export async function writeGif(file: string, frames: Tensor4D | readonly GifFrame[], options: GifOptions = {}): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = encodeGif(frames, options);
  } catch (err) {
    throw new Error(`writeGif: ${file}: ${(err as Error).message}`);
  }
  await writeFileAtomic(file, bytes);
}

// ---------------------------------------------------------------------------------------
// Reading

export interface DecodedGifFrame {
  /** The whole canvas after this frame, 8-bit RGBA. */
  rgba: Uint8Array;
  delayMs: number;
}

export interface DecodedGif {
  width: number;
  height: number;
  /** From the NETSCAPE2.0 extension: 0 = forever, n = repeat n times; undefined = play once. */
  loopCount: number | undefined;
  frames: DecodedGifFrame[];
}

function lzwDecode(minCodeSize: number, data: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels);
  const clear = 1 << minCodeSize;
  const end = clear + 1;
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const firstOf = new Uint8Array(4096);
  const lengthOf = new Int32Array(4096);
  for (let i = 0; i < clear; i++) {
    prefix[i] = -1;
    suffix[i] = i;
    firstOf[i] = i;
    lengthOf[i] = 1;
  }
  let codeSize = minCodeSize + 1;
  let next = clear + 2;
  let previous = -1;
  let bits = 0;
  let nbits = 0;
  let o = 0;
  for (let p = 0; p < data.length && o < pixels; ) {
    while (nbits < codeSize && p < data.length) {
      bits |= data[p++]! << nbits;
      nbits += 8;
    }
    if (nbits < codeSize) break;
    const code = bits & ((1 << codeSize) - 1);
    bits >>>= codeSize;
    nbits -= codeSize;
    if (code === clear) {
      codeSize = minCodeSize + 1;
      next = clear + 2;
      previous = -1;
      continue;
    }
    if (code === end) break;
    let emit = code;
    if (previous !== -1 && next < 4096) {
      if (code > next) throw new Error(`invalid LZW code ${code}`);
      prefix[next] = previous;
      firstOf[next] = firstOf[previous]!;
      suffix[next] = code === next ? firstOf[previous]! : firstOf[code]!;
      lengthOf[next] = lengthOf[previous]! + 1;
      next++;
      if (next === 1 << codeSize && codeSize < 12) codeSize++;
    } else if (code >= next) {
      throw new Error(`invalid LZW code ${code}`);
    }
    // Write the string for `emit` backwards.
    const len = lengthOf[emit]!;
    for (let k = len - 1; k >= 0; k--) {
      if (o + k < pixels) out[o + k] = suffix[emit]!;
      emit = prefix[emit]!;
    }
    o += len;
    previous = code;
  }
  return out;
}

/**
 * Decodes a GIF (as written by `encodeGif`, and other plain GIF87a/89a files: global and
 * local palettes, transparency, interlacing, disposal) into full-canvas RGBA frames.
 */
export function decodeGif(bytes: Uint8Array): DecodedGif {
  const fail = (what: string): never => {
    throw new Error(`decodeGif: ${what}`);
  };
  const ascii = String.fromCharCode(...bytes.subarray(0, 6));
  if (ascii !== 'GIF89a' && ascii !== 'GIF87a') fail('not a GIF file (no GIF87a/GIF89a header)');
  const u16 = (at: number) => bytes[at]! | (bytes[at + 1]! << 8);
  const width = u16(6);
  const height = u16(8);
  const flags = bytes[10]!;
  let p = 13;
  const readTable = (size: number): Uint8Array => {
    const table = bytes.subarray(p, p + 3 * size);
    p += 3 * size;
    return table;
  };
  const globalTable = flags & 0x80 ? readTable(1 << ((flags & 7) + 1)) : undefined;
  const readSubBlocks = (): Uint8Array => {
    const parts: Uint8Array[] = [];
    for (;;) {
      if (p >= bytes.length) fail('truncated data');
      const size = bytes[p++]!;
      if (size === 0) break;
      parts.push(bytes.subarray(p, p + size));
      p += size;
    }
    const out = new Uint8Array(parts.reduce((a, x) => a + x.length, 0));
    let o = 0;
    for (const x of parts) {
      out.set(x, o);
      o += x.length;
    }
    return out;
  };

  const canvas = new Uint8Array(width * height * 4);
  const frames: DecodedGifFrame[] = [];
  let loopCount: number | undefined;
  let delayMs = 0;
  let transparent: number | undefined;
  let disposal = 0;
  for (;;) {
    if (p >= bytes.length) fail('truncated data (no trailer)');
    const block = bytes[p++]!;
    if (block === 0x3b) break;
    if (block === 0x21) {
      const label = bytes[p++]!;
      const body = readSubBlocks();
      if (label === 0xf9 && body.length >= 4) {
        disposal = (body[0]! >> 2) & 7;
        delayMs = (body[1]! | (body[2]! << 8)) * 10;
        transparent = body[0]! & 1 ? body[3] : undefined;
      } else if (label === 0xff && String.fromCharCode(...body.subarray(0, 11)) === 'NETSCAPE2.0' && body[11] === 1) {
        loopCount = body[12]! | (body[13]! << 8);
      }
      continue;
    }
    if (block !== 0x2c) fail(`unexpected block 0x${block.toString(16)} at byte ${p - 1}`);
    const left = u16(p);
    const top = u16(p + 2);
    const w = u16(p + 4);
    const h = u16(p + 6);
    const imageFlags = bytes[p + 8]!;
    p += 9;
    const table = imageFlags & 0x80 ? readTable(1 << ((imageFlags & 7) + 1)) : globalTable;
    if (table === undefined) fail(`frame ${frames.length} has no colour table`);
    const minCodeSize = bytes[p++]!;
    const indices = lzwDecode(minCodeSize, readSubBlocks(), w * h);
    const before = disposal === 3 ? canvas.slice() : undefined;
    const rowOrder: number[] = [];
    if (imageFlags & 0x40) {
      for (const [start, step] of [[0, 8], [4, 8], [2, 4], [1, 2]] as const) for (let y = start; y < h; y += step) rowOrder.push(y);
    } else {
      for (let y = 0; y < h; y++) rowOrder.push(y);
    }
    rowOrder.forEach((y, r) => {
      for (let x = 0; x < w; x++) {
        const idx = indices[r * w + x]!;
        if (idx === transparent) continue;
        const cx = left + x;
        const cy = top + y;
        if (cx >= width || cy >= height) continue;
        const o = (cy * width + cx) * 4;
        canvas[o] = table![3 * idx]!;
        canvas[o + 1] = table![3 * idx + 1]!;
        canvas[o + 2] = table![3 * idx + 2]!;
        canvas[o + 3] = 255;
      }
    });
    frames.push({ rgba: canvas.slice(), delayMs });
    if (disposal === 2) {
      for (let y = top; y < Math.min(height, top + h); y++) canvas.fill(0, (y * width + left) * 4, (y * width + Math.min(width, left + w)) * 4);
    } else if (before) {
      canvas.set(before);
    }
    delayMs = 0;
    transparent = undefined;
    disposal = 0;
  }
  return { width, height, loopCount, frames };
}
