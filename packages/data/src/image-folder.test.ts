import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageFolder } from './image-folder.js';
import { resizePixels } from './image-files.js';

/** A w x h RGBA PNG whose pixel (x, y) is rgba(x, y). */
function png(w: number, h: number, rgba: (x: number, y: number) => [number, number, number, number]): Buffer {
  const img = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) img.data.set(rgba(x, y), (y * w + x) * 4);
  }
  return PNG.sync.write(img);
}

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ppgn-image-folder-'));
  const same = join(root, 'same');
  // classes written out of order: names must come back sorted
  for (const c of ['zebra', 'apple', 'Mango']) mkdirSync(join(same, c), { recursive: true });
  writeFileSync(join(same, 'apple', 'b.png'), png(4, 4, (x, y) => [x * 60, y * 60, 7, 255]));
  writeFileSync(join(same, 'apple', 'a.png'), png(4, 4, () => [10, 20, 30, 255]));
  writeFileSync(join(same, 'apple', 'notes.txt'), 'not an image');
  writeFileSync(join(same, 'zebra', 'half.png'), png(4, 4, () => [0, 0, 0, 0])); // transparent
  writeFileSync(join(same, 'Mango', 'c.png'), png(4, 4, () => [255, 255, 255, 255]));
  const rgb = new Uint8Array(8 * 8 * 4).fill(255);
  for (let p = 0; p < 64; p++) rgb.set([200, 40, 40, 255], p * 4);
  writeFileSync(join(same, 'zebra', 'photo.JPG'), jpeg.encode({ data: rgb, width: 8, height: 8 }, 95).data);
  // an 8x8 jpeg among 4x4 pngs is fine only with options.size, so keep it in its own tree
  mkdirSync(join(root, 'mixed', 'one'), { recursive: true });
  writeFileSync(join(root, 'mixed', 'one', 'a.png'), png(4, 4, () => [0, 0, 0, 255]));
  writeFileSync(join(root, 'mixed', 'one', 'b.png'), png(6, 2, () => [0, 0, 0, 255]));
  mkdirSync(join(root, 'broken', 'one'), { recursive: true });
  writeFileSync(join(root, 'broken', 'one', 'bad.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
  mkdirSync(join(root, 'empty', 'one'), { recursive: true });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('imageFolder', () => {
  it('reads PNG and JPEG files per class, resized, with sorted class names', async () => {
    const ds = await imageFolder(join(root, 'same'), { size: [4, 4] });
    expect(ds.classNames).toEqual(['Mango', 'apple', 'zebra']);
    expect(ds.files.map((f) => f.slice(root.length + 1))).toEqual([
      'same/Mango/c.png',
      'same/apple/a.png',
      'same/apple/b.png',
      'same/zebra/half.png',
      'same/zebra/photo.JPG',
    ]);
    expect(Array.from(ds.labels)).toEqual([0, 1, 1, 2, 2]);
    expect(ds.imageShape).toEqual([4, 4, 3]);
    const x = ds.images({ start: 0, end: 5 });
    const d = x.arraySync() as number[][][][];
    // exact bytes where no resize happens
    expect(d[1]![2]![3]!.map((v) => Math.round(v * 255))).toEqual([10, 20, 30]);
    expect(d[2]![1]![3]!.map((v) => Math.round(v * 255))).toEqual([180, 60, 7]);
    // transparent pixels become the background (white by default)
    expect(d[3]![0]![0]).toEqual([1, 1, 1]);
    // the 8x8 JPEG, area-averaged to 4x4, keeps its colour
    const [r, g, b] = d[4]![2]![2]!;
    expect(r!).toBeCloseTo(200 / 255, 1);
    expect(g!).toBeCloseTo(40 / 255, 1);
    expect(b!).toBeCloseTo(40 / 255, 1);
    x.dispose();
  });

  it('converts to one channel and composites onto a chosen background', async () => {
    const ds = await imageFolder(join(root, 'same'), { size: [2, 2], channels: 1, background: 0 });
    expect(ds.imageShape).toEqual([2, 2, 1]);
    const x = ds.images([0, 3]);
    expect(Array.from(x.dataSync()).map((v) => Math.round(v * 255))).toEqual([255, 255, 255, 255, 0, 0, 0, 0]);
    x.dispose();
  });

  it('names the file at fault', async () => {
    await expect(imageFolder(join(root, 'mixed'))).rejects.toThrow(/one\/b\.png is 6x2 .*one\/a\.png is 4x4; pass options.size/);
    const ok = await imageFolder(join(root, 'mixed'), { size: [3, 3] });
    expect(ok.size).toBe(2);
    await expect(imageFolder(join(root, 'broken'))).rejects.toThrow(/cannot decode .*broken\/one\/bad\.png/);
    await expect(imageFolder(join(root, 'empty'))).rejects.toThrow(/empty\/one has no \.png/);
    await expect(imageFolder(join(root, 'nowhere'))).rejects.toThrow(/cannot read folder .*nowhere/);
  });

  it('crops to the aspect ratio with fit: cover', async () => {
    // 6x2 image: left third black, middle third white, right third black
    const dir = join(root, 'cover');
    mkdirSync(join(dir, 'one'), { recursive: true });
    writeFileSync(join(dir, 'one', 'a.png'), png(6, 2, (x) => (x >= 2 && x < 4 ? [255, 255, 255, 255] : [0, 0, 0, 255])));
    const filled = await imageFolder(dir, { size: [2, 2] });
    const covered = await imageFolder(dir, { size: [2, 2], fit: 'cover' });
    const a = filled.images([0]);
    const b = covered.images([0]);
    expect(tf.mean(a).dataSync()[0]).toBeCloseTo(1 / 3, 1);
    expect(tf.mean(b).dataSync()[0]).toBeCloseTo(1, 5);
    tf.dispose([a, b]);
  });
});

describe('resizePixels', () => {
  it('averages whole blocks when shrinking and interpolates when growing', () => {
    const src = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]); // 4x4x1
    expect(Array.from(resizePixels(src, [4, 4, 1], [2, 2]))).toEqual([2.5, 4.5, 10.5, 12.5]);
    const up = resizePixels(Float32Array.from([0, 1]), [1, 2, 1], [1, 4]);
    expect(Array.from(up)).toEqual([0, 0.25, 0.75, 1]);
    expect(resizePixels(src, [4, 4, 1], [4, 4])).toBe(src);
  });
});
