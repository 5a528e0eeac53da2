import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeGif, encodeGif, writeGif } from './gif.js';
import { imageGrid } from './images.js';
import { Rng } from './rng.js';

let root: string;
let tensorsBefore = 0;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(path.join(os.tmpdir(), 'ppgn-gif-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
beforeEach(() => {
  tensorsBefore = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(tensorsBefore);
});

/**
 * Walks the GIF block structure on its own (independent of decodeGif): the header, and for
 * each image descriptor (0x2C) whether a graphic control extension came just before it.
 */
function gifStructure(bytes: Uint8Array): { header: string; frames: number; framesWithControl: number; delays: number[] } {
  const header = String.fromCharCode(...bytes.subarray(0, 6));
  let p = 13;
  if (bytes[10]! & 0x80) p += 3 * (1 << ((bytes[10]! & 7) + 1));
  const skipSubBlocks = () => {
    while (bytes[p] !== 0) p += bytes[p]! + 1;
    p++;
  };
  let frames = 0;
  let framesWithControl = 0;
  let sawControl = false;
  const delays: number[] = [];
  for (;;) {
    const block = bytes[p++];
    if (block === 0x3b) break;
    if (block === 0x21) {
      const label = bytes[p++];
      if (label === 0xf9) {
        sawControl = true;
        delays.push((bytes[p + 2]! | (bytes[p + 3]! << 8)) * 10);
      }
      skipSubBlocks();
    } else if (block === 0x2c) {
      frames++;
      if (sawControl) framesWithControl++;
      sawControl = false;
      const flags = bytes[p + 8]!;
      p += 9;
      if (flags & 0x80) p += 3 * (1 << ((flags & 7) + 1));
      p++; // LZW minimum code size
      skipSubBlocks();
    } else {
      throw new Error(`bad block ${block} at ${p - 1}`);
    }
  }
  return { header, frames, framesWithControl, delays };
}

/** A little moving square: gray, few levels, like a sampling chain of simple images. */
function chain(steps: number, size: number, channels: 1 | 3): tf.Tensor3D[] {
  return Array.from({ length: steps }, (_, t) =>
    tf.tidy(() => {
      const buf = tf.buffer([size, size, channels]);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const inside = x >= t && x < t + 4 && y >= 2 && y < 6;
          for (let c = 0; c < channels; c++) buf.set(inside ? (c === 0 ? 1 : 0.2 * c) : (x + y) / (2 * size), y, x, c);
        }
      }
      return buf.toTensor() as tf.Tensor3D;
    }),
  );
}

const bytes8 = (t: tf.Tensor) => Array.from(t.dataSync(), (v) => Math.round(v * 255));

function rgbOf(rgba: Uint8Array, channels: 1 | 3): number[] {
  const out: number[] = [];
  for (let i = 0; i < rgba.length; i += 4) for (let c = 0; c < channels; c++) out.push(rgba[i + c]!);
  return out;
}

describe('writeGif', () => {
  it('writes a GIF89a with one frame per image, the delays and an endless loop', async () => {
    const frames = chain(5, 12, 1);
    const file = path.join(root, 'chain.gif');
    await writeGif(file, frames, { delayMs: 80 });
    const bytes = new Uint8Array(await readFile(file));
    const s = gifStructure(bytes);
    expect(s).toEqual({ header: 'GIF89a', frames: 5, framesWithControl: 5, delays: [80, 80, 80, 80, 80] });

    const gif = decodeGif(bytes);
    expect([gif.width, gif.height, gif.loopCount, gif.frames.length]).toEqual([12, 12, 0, 5]);
    // Gray frames are stored exactly (a palette of their own gray levels).
    gif.frames.forEach((f, i) => {
      expect(rgbOf(f.rgba, 1)).toEqual(bytes8(frames[i]!));
    });
    tf.dispose(frames);
  });

  it('stores few-colour RGB exactly and quantises many colours closely, globally or per frame', () => {
    const frames = chain(4, 10, 3);
    const exact = decodeGif(encodeGif(frames, { delayMs: [10, 20, 30, 40], loop: false }));
    expect(exact.loopCount).toBeUndefined();
    expect(exact.frames.map((f) => f.delayMs)).toEqual([10, 20, 30, 40]);
    exact.frames.forEach((f, i) => {
      expect(rgbOf(f.rgba, 3)).toEqual(bytes8(frames[i]!));
    });

    const noise = new Rng(4).uniformTensor([3, 24, 24, 3]) as tf.Tensor4D; // ~1700 colours
    const truth = bytes8(noise);
    for (const palette of ['global', 'per-frame'] as const) {
      const bytes = encodeGif(noise, { palette, maxColors: 64 });
      expect(gifStructure(bytes).frames).toBe(3);
      const gif = decodeGif(bytes);
      const got = gif.frames.flatMap((f) => rgbOf(f.rgba, 3));
      const meanError = got.reduce((a, v, i) => a + Math.abs(v - truth[i]!), 0) / got.length;
      expect(meanError).toBeGreaterThan(0);
      expect(meanError).toBeLessThan(30);
    }
    tf.dispose([...frames, noise]);
  });

  it('takes grids as frames and a [T, H, W, C] batch; rejects frames of different sizes', async () => {
    const steps = chain(3, 8, 1);
    const grids = steps.map((s) => tf.tidy(() => imageGrid(tf.stack([s, s]) as tf.Tensor4D, { labels: ['t', 'u'] })));
    const gif = decodeGif(encodeGif(grids));
    expect(gif.frames).toHaveLength(3);
    expect([gif.height, gif.width]).toEqual(grids[0]!.shape.slice(0, 2));

    const batch = tf.stack(steps) as tf.Tensor4D;
    expect(decodeGif(encodeGif(batch)).frames).toHaveLength(3);

    const odd = tf.zeros([9, 8, 1]) as tf.Tensor3D;
    await expect(writeGif(path.join(root, 'bad.gif'), [steps[0]!, odd])).rejects.toThrow(
      /bad\.gif: .*frame 1 is 8x9 but frame 0 is 8x8/,
    );
    expect(() => encodeGif([])).toThrow('encodeGif: no frames');
    expect(() => decodeGif(new Uint8Array([1, 2, 3, 4, 5, 6]))).toThrow('decodeGif: not a GIF file');
    tf.dispose([...steps, ...grids, batch, odd]);
  });
});
