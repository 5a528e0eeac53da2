import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { glyphColumns, GLYPH_ADVANCE, textWidth } from './bitmap-font.js';
import { decodeImage, decodePng, encodeJpeg, encodePng, readImage, readPng, writeGrid, writeImage, writePng } from './image-files.js';
import { gridLayout, imageGrid } from './images.js';
import { Rng } from './rng.js';

let root: string;
let tensorsBefore = 0;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(path.join(os.tmpdir(), 'ppgn-images-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
beforeEach(() => {
  tensorsBefore = tf.memory().numTensors;
});
afterEach(() => {
  // Every test disposes what it makes, and the functions leave nothing behind.
  expect(tf.memory().numTensors).toBe(tensorsBefore);
});

/** Random 8-bit values as a [0, 1] float image. */
function image8(shape: [number, number, number], seed: number): { t: tf.Tensor3D; bytes: number[] } {
  const rng = new Rng(seed);
  const bytes = Array.from({ length: shape[0] * shape[1] * shape[2] }, () => rng.int(256));
  return { t: tf.tensor3d(bytes.map((b) => b / 255), shape), bytes };
}

const to8 = (t: tf.Tensor) => Array.from(t.dataSync(), (v) => Math.round(v * 255));

describe('PNG', () => {
  it.each([1, 3] as const)('round-trips 8-bit values exactly with %i channel(s), in memory and on disk', async (c) => {
    const { t, bytes } = image8([7, 5, c], c);
    const back = decodePng(encodePng(t));
    expect(back.shape).toEqual([7, 5, c]);
    expect(to8(back)).toEqual(bytes);
    expect(Array.from(back.dataSync())).toEqual(Array.from(t.dataSync()));

    const file = path.join(root, `rt${c}.png`);
    const batch = tf.expandDims(t, 0) as tf.Tensor4D;
    await writePng(file, batch);
    const fromFile = await readPng(file);
    expect(fromFile.shape).toEqual([7, 5, c]);
    expect(to8(fromFile)).toEqual(bytes);
    // The file is a real PNG of the right colour type (0 gray, 2 RGB).
    const meta = PNG.sync.read(await readFile(file));
    expect([meta.width, meta.height, meta.colorType]).toEqual([5, 7, c === 1 ? 0 : 2]);
    tf.dispose([t, back, batch, fromFile]);
  });

  it('clips values to [0, 1], rejects NaN and bad shapes', async () => {
    const t = tf.tensor3d([-0.5, 0.25, 1.7, 1], [2, 2, 1]);
    const back = decodePng(encodePng(t));
    expect(to8(back)).toEqual([0, 64, 255, 255]);
    const nan = tf.tensor3d([0, Number.NaN], [1, 2, 1]);
    await expect(writePng(path.join(root, 'nan.png'), nan)).rejects.toThrow(/nan\.png: .*contains NaN at flat index 1/);
    const four = tf.zeros([2, 2, 2, 3]) as tf.Tensor4D;
    expect(() => encodePng(four)).toThrow('expected an image [H, W, C] or [1, H, W, C], got shape [2, 2, 2, 3]');
    const rgba = tf.zeros([2, 2, 4]) as tf.Tensor3D;
    expect(() => encodePng(rgba)).toThrow('expected 1 or 3 channels, got 4 (image 2x2x4)');
    tf.dispose([t, back, nan, four, rgba]);
  });

  it('converts channels and composites alpha over the background', () => {
    const rgb = tf.tensor3d([1, 0, 0, 0.2, 0.2, 0.2], [1, 2, 3]);
    const gray = decodePng(encodePng(rgb), { channels: 1 });
    expect(to8(gray)).toEqual([Math.round(0.299 * 255), 51]);
    const g = tf.tensor3d([0.4, 0.8], [1, 2, 1]);
    const asRgb = decodePng(encodePng(g), { channels: 3 });
    expect(to8(asRgb)).toEqual([102, 102, 102, 204, 204, 204]);

    const png = new PNG({ width: 2, height: 1 });
    png.data.set([10, 20, 30, 0, 200, 100, 0, 255]);
    const bytes = PNG.sync.write(png);
    const onWhite = decodePng(bytes);
    expect(to8(onWhite)).toEqual([255, 255, 255, 200, 100, 0]);
    const onBlack = decodePng(bytes, { background: 0 });
    expect(to8(onBlack)).toEqual([0, 0, 0, 200, 100, 0]);
    tf.dispose([rgb, gray, g, asRgb, onWhite, onBlack]);
  });

  it('names the path when a file is not a PNG or is missing', async () => {
    const file = path.join(root, 'not-really.png');
    await writeFile(file, 'hello, I am text');
    await expect(readPng(file)).rejects.toThrow(`readPng: ${file} is not a PNG file`);
    await expect(readImage(file)).rejects.toThrow(`readImage: ${file} is neither a PNG nor a JPEG file although it is named .png`);
    const truncated = path.join(root, 'truncated.png');
    const { t } = image8([4, 4, 3], 9);
    await writeFile(truncated, encodePng(t).subarray(0, 40));
    await expect(readPng(truncated)).rejects.toThrow(`decodePng: ${truncated} is not a valid PNG file`);
    await expect(readPng(path.join(root, 'missing.png'))).rejects.toThrow(/readPng: cannot read .*missing\.png: no such file/);
    t.dispose();
  });
});

describe('JPEG and readImage', () => {
  it('reads JPEG by its signature, whatever the extension', async () => {
    const flat = tf.tidy(() => tf.mul(tf.ones([16, 16, 3]), tf.tensor1d([0.8, 0.4, 0.1]))) as tf.Tensor3D;
    const file = path.join(root, 'flat.jpg');
    await writeImage(file, flat);
    const misnamed = path.join(root, 'actually-jpeg.png');
    await writeFile(misnamed, encodeJpeg(flat));
    for (const f of [file, misnamed]) {
      const back = await readImage(f);
      expect(back.shape).toEqual([16, 16, 3]);
      const err = tf.tidy(() => tf.max(tf.abs(tf.sub(back, flat))).dataSync()[0]!);
      expect(err).toBeLessThan(3 / 255);
      back.dispose();
    }
    await expect(readPng(misnamed)).rejects.toThrow(`${misnamed} is not a PNG file`);
    const gray = decodeImage(await readFile(file), { channels: 1 });
    expect(gray.shape).toEqual([16, 16, 1]);
    tf.dispose([flat, gray]);
  });
});

describe('bitmap font', () => {
  it('has a distinct, non-empty glyph for every printable ASCII character', () => {
    const seen = new Set<string>();
    for (let code = 33; code < 127; code++) {
      const cols = glyphColumns(String.fromCharCode(code));
      expect(cols.some((b) => b !== 0)).toBe(true);
      seen.add(cols.join(','));
    }
    expect(seen.size).toBe(94);
    expect(glyphColumns(' ')).toEqual([0, 0, 0, 0, 0]);
    expect(glyphColumns('\u00e9')).toEqual(glyphColumns('?'));
    expect(textWidth('abc', 2)).toBe((3 * GLYPH_ADVANCE - 1) * 2);
  });
});

describe('imageGrid', () => {
  function batch(n: number, h: number, w: number, c: number, seed = 1): tf.Tensor4D {
    return new Rng(seed).uniformTensor([n, h, w, c]) as tf.Tensor4D;
  }

  it('lays images out with the documented size arithmetic and copies pixels (nearest upscaling)', () => {
    const images = batch(5, 4, 6, 3);
    const grid = imageGrid(images, { columns: 3, padding: 2, scale: 2, background: 0.5 });
    // width = 2 + 3 * (6*2 + 2) = 44; height = 2 + 2 * (4*2 + 2) = 22
    expect(grid.shape).toEqual([22, 44, 3]);
    const layout = gridLayout(5, [4, 6, 3], { columns: 3, padding: 2, scale: 2 });
    expect([layout.rows, layout.columns, layout.width, layout.height]).toEqual([2, 3, 44, 22]);

    const g = grid.arraySync();
    const src = images.arraySync();
    for (let i = 0; i < 5; i++) {
      const { x, y } = layout.cellOrigin(i);
      for (let yy = 0; yy < 8; yy++) {
        for (let xx = 0; xx < 12; xx++) {
          expect(g[y + yy]![x + xx]).toEqual(src[i]![yy >> 1]![xx >> 1]);
        }
      }
    }
    expect(g[0]![0]).toEqual([0.5, 0.5, 0.5]); // padding
    expect(g[layout.cellOrigin(5).y + 1]![layout.cellOrigin(5).x + 1]).toEqual([0.5, 0.5, 0.5]); // empty 6th cell
    tf.dispose([images, grid]);
  });

  it('labels add a band under each row, row labels a column at the left, and both change pixels', () => {
    const images = batch(4, 16, 16, 1, 2);
    const plain = imageGrid(images, { columns: 2 });
    expect(plain.shape).toEqual([2 + 2 * (16 + 2), 2 + 2 * (16 + 2), 1]);
    const labels = ['a', 'b', 'c', 'd'];
    const labelled = imageGrid(images, { columns: 2, labels, labelScale: 2 });
    expect(labelled.shape).toEqual([2 + 2 * (16 + 9 * 2 + 2), 38, 1]);
    const other = imageGrid(images, { columns: 2, labels: ['a', 'b', 'c', 'e'], labelScale: 2 });
    const blank = imageGrid(images, { columns: 2, labels: ['', '', '', ''], labelScale: 2 });
    const diff = (x: tf.Tensor, y: tf.Tensor) => tf.tidy(() => tf.sum(tf.notEqual(x, y)).dataSync()[0]!);
    expect(diff(labelled, blank)).toBeGreaterThan(20); // text drawn
    expect(diff(labelled, other)).toBeGreaterThan(0); // and it is the text asked for
    // Only the last cell's band differs between 'd' and 'e'.
    const layout = gridLayout(4, [16, 16, 1], { columns: 2, labels, labelScale: 2 });
    const band = (t: tf.Tensor3D) =>
      tf.tidy(() => tf.slice(t, [layout.cellOrigin(3).y + 16, layout.cellOrigin(3).x, 0], [layout.labelHeight, 16, 1]));
    const [b1, b2] = [band(labelled), band(other)];
    expect(diff(b1, b2)).toBe(diff(labelled, other));

    const withRows = imageGrid(images, { columns: 2, rowLabels: ['row0', 'r1'] });
    expect(withRows.shape).toEqual([38, 38 + 2 + textWidth('row0'), 1]);
    const colour = imageGrid(images, { columns: 2, labels, color: [1, 0, 0] });
    expect(colour.shape[2]).toBe(3);
    // A label wider than its cell is cut to fit: at scale 3 a 16-pixel cell holds 1 character.
    const cut = imageGrid(images, { columns: 2, labels: ['abc', 'b', 'c', 'd'], labelScale: 3 });
    const cutBlank = imageGrid(images, { columns: 2, labels: ['a', 'b', 'c', 'd'], labelScale: 3 });
    expect(diff(cut, cutBlank)).toBe(0);
    tf.dispose([cut, cutBlank]);
    expect(() => imageGrid(images, { labels: ['x'] })).toThrow('imageGrid: got 1 labels for 4 images');
    expect(() => imageGrid(images, { scale: 1.5 })).toThrow('imageGrid: scale must be an integer >= 1, got 1.5');
    tf.dispose([images, plain, labelled, other, blank, b1, b2, withRows, colour]);
  });

  it('writeGrid writes the grid as a PNG', async () => {
    const images = batch(6, 10, 10, 3, 3);
    const file = path.join(root, 'grid.png');
    await writeGrid(file, images, { columns: 3, labels: ['0', '1', '2', '3', '4', '5'], scale: 2 });
    const back = await readPng(file);
    const expected = imageGrid(images, { columns: 3, labels: ['0', '1', '2', '3', '4', '5'], scale: 2 });
    expect(back.shape).toEqual(expected.shape);
    expect(to8(back)).toEqual(to8(expected));
    tf.dispose([images, back, expected]);
  });
});
