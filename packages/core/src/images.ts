/**
 * Image tensors as 8-bit pixels, and image grids (PNG and JPEG files are in image-files.ts).
 *
 * Labels in grids use the built-in 5x7 bitmap font of bitmap-font.ts, so no font files
 * or canvas library are needed; everything here also runs in a browser.
 *
 * Tensors here are HWC (or NHWC with batch 1) float32 in [0, 1] with 1 or 3 channels.
 * Pixel data moves through plain typed arrays; the only tensors made are the ones
 * returned.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { drawText, GLYPH_HEIGHT, textWidth } from './bitmap-font.js';

export interface ReadImageOptions {
  /**
   * Channels of the returned tensor. 1 converts colour to luminance (ITU-R 601 weights);
   * 3 repeats gray. Default: 1 for grayscale PNGs, otherwise 3.
   */
  channels?: 1 | 3;
  /** Gray level in [0, 1] that transparent pixels are composited over. Default 1 (white). */
  background?: number;
}

/** An 8-bit interleaved image (row-major, `channels` bytes per pixel). */
export interface ImageBytes {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

/**
 * Reads an image tensor's pixels as 8-bit bytes: values are clipped to [0, 1] and rounded
 * to k/255. Accepts [H, W, C] or [1, H, W, C] with C = 1 or 3; throws naming `who` on any
 * other shape or on NaN values.
 */
export function toImageBytes(image: Tensor3D | Tensor4D, who = 'toImageBytes'): ImageBytes {
  const s = image.shape;
  if (!(image.rank === 3 || (image.rank === 4 && s[0] === 1))) {
    throw new Error(`${who}: expected an image [H, W, C] or [1, H, W, C], got shape [${s.join(', ')}]`);
  }
  const [height, width, channels] = (image.rank === 4 ? s.slice(1) : s) as [number, number, number];
  return valuesToImageBytes(image.dataSync(), [height, width, channels], who);
}

/** `toImageBytes` on values already read back: [H, W, C] in row-major order. */
export function valuesToImageBytes(values: ArrayLike<number>, shape: readonly [number, number, number], who: string): ImageBytes {
  const [height, width, channels] = shape;
  if (channels !== 1 && channels !== 3) {
    throw new Error(`${who}: expected 1 or 3 channels, got ${channels} (image ${height}x${width}x${channels})`);
  }
  const data = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) throw new Error(`${who}: image contains NaN at flat index ${i}`);
    data[i] = Math.round(Math.min(Math.max(v, 0), 1) * 255);
  }
  return { data, width, height, channels };
}

/** An 8-bit image as a float32 [H, W, C] tensor in [0, 1]. */
export function fromImageBytes(image: ImageBytes): Tensor3D {
  const values = new Float32Array(image.data.length);
  for (let i = 0; i < values.length; i++) values[i] = image.data[i]! / 255;
  return tf.tensor3d(values, [image.height, image.width, image.channels], 'float32');
}

/** Converts 8-bit RGBA to 1 or 3 channels, compositing alpha over `background`. */
/** 8-bit RGBA pixels as 1- or 3-channel bytes, composited over a gray `background` in [0, 1]. */
export function fromRgba(
  rgba: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3,
  background: number,
): ImageBytes {
  const n = width * height;
  const data = new Uint8Array(n * channels);
  const bg = Math.round(Math.min(1, Math.max(0, background)) * 255);
  for (let i = 0; i < n; i++) {
    const a = rgba[4 * i + 3]!;
    let r = rgba[4 * i]!;
    let g = rgba[4 * i + 1]!;
    let b = rgba[4 * i + 2]!;
    if (a !== 255) {
      r = Math.round((r * a + bg * (255 - a)) / 255);
      g = Math.round((g * a + bg * (255 - a)) / 255);
      b = Math.round((b * a + bg * (255 - a)) / 255);
    }
    if (channels === 3) {
      data[3 * i] = r;
      data[3 * i + 1] = g;
      data[3 * i + 2] = b;
    } else {
      data[i] = r === g && g === b ? r : Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    }
  }
  return { data, width, height, channels };
}

// ---------------------------------------------------------------------------------------
// Grids

export type Color = number | readonly [number, number, number];

export interface GridOptions {
  /** Images per row. Default: ceil(sqrt(count)). */
  columns?: number;
  /** Pixels between cells and around the grid (after scaling). Default 2. */
  padding?: number;
  /** One label per image, drawn under its cell (cut to the cell's width). */
  labels?: readonly string[];
  /** One label per row, drawn left of the row. */
  rowLabels?: readonly string[];
  /** Integer nearest-neighbour upscaling of every image. Default 1. */
  scale?: number;
  /** Integer scale of the label font (5x7 pixels per character at 1). Default 1. */
  labelScale?: number;
  /** Background: a gray level in [0, 1] or an RGB triple. Default 1 (white). */
  background?: Color;
  /** Label colour. Default black on a light background, white on a dark one. */
  color?: Color;
}

/** Where everything goes in a grid; all sizes in output pixels. */
export interface GridLayout {
  rows: number;
  columns: number;
  /** Size of one scaled image. */
  cellWidth: number;
  cellHeight: number;
  /** Height of the label band under each cell (0 without labels). */
  labelHeight: number;
  /** Width of the row-label column at the left (0 without row labels). */
  rowLabelWidth: number;
  padding: number;
  width: number;
  height: number;
  channels: 1 | 3;
  /** Top-left corner of image `i`. */
  cellOrigin(i: number): { x: number; y: number };
}

function positiveInt(value: number | undefined, fallback: number, what: string, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new Error(`imageGrid: ${what} must be an integer >= ${min}, got ${v}`);
  return v;
}

function isTriple(c: Color | undefined): c is readonly [number, number, number] {
  return Array.isArray(c);
}

/**
 * The layout `imageGrid` uses for `count` images of `imageShape` ([H, W, C]):
 * width  = rowLabelWidth + padding + columns * (W * scale + padding)
 * height = padding + rows * (H * scale + labelHeight + padding)
 * with labelHeight = 9 * labelScale when there are labels (8 font rows + 1 gap) and
 * rowLabelWidth = padding + the widest row label's width when there are row labels.
 */
export function gridLayout(count: number, imageShape: readonly number[], options: GridOptions = {}): GridLayout {
  const [h, w, c] = imageShape as [number, number, number];
  positiveInt(count, 1, 'the number of images');
  const columns = Math.min(count, positiveInt(options.columns, Math.ceil(Math.sqrt(count)), 'columns'));
  const rows = Math.ceil(count / columns);
  const padding = positiveInt(options.padding, 2, 'padding', 0);
  const scale = positiveInt(options.scale, 1, 'scale');
  const labelScale = positiveInt(options.labelScale, 1, 'labelScale');
  if (options.labels !== undefined && options.labels.length !== count) {
    throw new Error(`imageGrid: got ${options.labels.length} labels for ${count} images`);
  }
  if (options.rowLabels !== undefined && options.rowLabels.length !== rows) {
    throw new Error(`imageGrid: got ${options.rowLabels.length} row labels for ${rows} rows`);
  }
  const cellWidth = w * scale;
  const cellHeight = h * scale;
  const labelHeight = options.labels ? (GLYPH_HEIGHT + 1) * labelScale : 0;
  const rowLabelWidth = options.rowLabels
    ? padding + Math.max(0, ...options.rowLabels.map((l) => textWidth(l, labelScale)))
    : 0;
  const channels = c === 3 || isTriple(options.background) || isTriple(options.color) ? 3 : 1;
  const rowStep = cellHeight + labelHeight + padding;
  return {
    rows,
    columns,
    cellWidth,
    cellHeight,
    labelHeight,
    rowLabelWidth,
    padding,
    width: rowLabelWidth + padding + columns * (cellWidth + padding),
    height: padding + rows * rowStep,
    channels,
    cellOrigin: (i) => ({
      x: rowLabelWidth + padding + (i % columns) * (cellWidth + padding),
      y: padding + Math.floor(i / columns) * rowStep,
    }),
  };
}

function colorValues(color: Color, channels: number): number[] {
  return isTriple(color) ? [...color] : Array.from({ length: channels }, () => color);
}

function luminance(color: Color): number {
  return isTriple(color) ? 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2] : color;
}

/** Cuts `text` to at most `width` pixels at `scale`. */
function fitText(text: string, width: number, scale: number): string {
  let t = text;
  while (t.length > 0 && textWidth(t, scale) > width) t = t.slice(0, -1);
  return t;
}

/**
 * Lays a batch of images [N, H, W, C] out in a grid, with optional labels under each cell
 * and at the left of each row (drawn with the built-in bitmap font). Returns one float32
 * image [height, width, C'] (C' = 3 when the images or a colour option are RGB); the
 * caller disposes it. See `gridLayout` for the size arithmetic.
 */
export function imageGrid(images: Tensor4D, options: GridOptions = {}): Tensor3D {
  if (images.rank !== 4) throw new Error(`imageGrid: expected images [N, H, W, C], got shape [${images.shape.join(', ')}]`);
  const [n, h, w, c] = images.shape;
  if (c !== 1 && c !== 3) throw new Error(`imageGrid: expected 1 or 3 channels, got ${c}`);
  const layout = gridLayout(n, [h, w, c], options);
  const { width, height, channels: oc, cellWidth, cellHeight } = layout;
  const scale = options.scale ?? 1;
  const labelScale = options.labelScale ?? 1;
  const background = options.background ?? 1;
  const color = options.color ?? (luminance(background) > 0.5 ? 0 : 1);

  const out = new Float32Array(width * height * oc);
  const bg = colorValues(background, oc);
  for (let i = 0; i < width * height; i++) for (let k = 0; k < oc; k++) out[i * oc + k] = bg[k]!;

  const src = images.dataSync();
  const size = h * w * c;
  for (let i = 0; i < n; i++) {
    const { x, y } = layout.cellOrigin(i);
    for (let yy = 0; yy < cellHeight; yy++) {
      const sy = Math.floor(yy / scale);
      const rowOut = ((y + yy) * width + x) * oc;
      for (let xx = 0; xx < cellWidth; xx++) {
        const s = i * size + (sy * w + Math.floor(xx / scale)) * c;
        const o = rowOut + xx * oc;
        for (let k = 0; k < oc; k++) out[o + k] = src[s + (c === 1 ? 0 : k)]!;
      }
    }
  }

  const canvas = { data: out, width, height, channels: oc };
  const ink = colorValues(color, oc);
  if (options.labels) {
    options.labels.forEach((label, i) => {
      const { x, y } = layout.cellOrigin(i);
      const text = fitText(label, cellWidth, labelScale);
      const tx = x + Math.floor((cellWidth - textWidth(text, labelScale)) / 2);
      drawText(canvas, text, tx, y + cellHeight + labelScale, { scale: labelScale, color: ink });
    });
  }
  if (options.rowLabels) {
    options.rowLabels.forEach((label, r) => {
      const { y } = layout.cellOrigin(r * layout.columns);
      const ty = y + Math.floor((cellHeight - (GLYPH_HEIGHT - 1) * labelScale) / 2);
      drawText(canvas, label, layout.padding, ty, { scale: labelScale, color: ink });
    });
  }
  return tf.tensor3d(out, [height, width, oc], 'float32');
}
