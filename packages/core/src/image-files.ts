/**
 * PNG and JPEG bytes and files (Node). Libraries, all pure JavaScript with no native code or
 * install scripts, so they install offline from the npm registry:
 * - `pngjs`: PNG encode/decode (8-bit gray and RGB out; any PNG in, including palette,
 *   16-bit and alpha images, which it normalises to 8-bit RGBA).
 * - `jpeg-js`: JPEG decode (and encode), for reading photos and dataset folders.
 * In a browser bundle, image-files.browser.ts stands in for this module.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { fromImageBytes, fromRgba, type GridOptions, type ImageBytes, imageGrid, type ReadImageOptions, toImageBytes } from './images.js';
import { writeFileAtomic } from './model-files.js';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

/** Encodes an image tensor as an 8-bit PNG (gray for 1 channel, RGB for 3). */
export function encodePng(image: Tensor3D | Tensor4D): Buffer {
  return encodePngBytes(toImageBytes(image, 'encodePng'));
}

/** Encodes 8-bit pixels as a PNG. */
export function encodePngBytes(image: ImageBytes): Buffer {
  const colorType = image.channels === 1 ? 0 : 2;
  const png = { width: image.width, height: image.height, data: Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength) };
  return PNG.sync.write(png as PNG, { colorType, inputColorType: colorType, inputHasAlpha: false, bitDepth: 8 });
}

/** Decodes PNG bytes to 8-bit pixels; `source` names the data in errors. */
export function decodePngBytes(bytes: Uint8Array, options: ReadImageOptions = {}, source = 'PNG data'): ImageBytes {
  if (!startsWith(bytes, PNG_MAGIC)) {
    throw new Error(`decodePng: ${source} is not a PNG file (no PNG signature)`);
  }
  let png: PNG & { colorType?: number };
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    throw new Error(`decodePng: ${source} is not a valid PNG file: ${(err as Error).message}`);
  }
  const gray = png.colorType === 0 || png.colorType === 4;
  const channels = options.channels ?? (gray ? 1 : 3);
  return fromRgba(png.data, png.width, png.height, channels, options.background ?? 1);
}

/** Decodes PNG bytes to a float32 [H, W, C] tensor in [0, 1]. */
export function decodePng(bytes: Uint8Array, options: ReadImageOptions = {}, source?: string): Tensor3D {
  return fromImageBytes(decodePngBytes(bytes, options, source));
}

/** Decodes JPEG bytes to 8-bit pixels (3 channels unless `channels: 1`). */
export function decodeJpegBytes(bytes: Uint8Array, options: ReadImageOptions = {}, source = 'JPEG data'): ImageBytes {
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
  } catch (err) {
    throw new Error(`decodeJpeg: ${source} is not a valid JPEG file: ${(err as Error).message}`);
  }
  return fromRgba(decoded.data, decoded.width, decoded.height, options.channels ?? 3, options.background ?? 1);
}

/** Encodes an image tensor as a baseline JPEG (`quality` 1..100, default 92). */
export function encodeJpeg(image: Tensor3D | Tensor4D, quality = 92): Buffer {
  const { data, width, height, channels } = toImageBytes(image, 'encodeJpeg');
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) rgba[4 * i + c] = data[channels * i + (channels === 3 ? c : 0)]!;
    rgba[4 * i + 3] = 255;
  }
  return jpeg.encode({ data: rgba, width, height }, quality).data;
}

/** Decodes PNG or JPEG bytes (by their signature) to a float32 [H, W, C] tensor in [0, 1]. */
export function decodeImage(bytes: Uint8Array, options: ReadImageOptions = {}, source = 'image data'): Tensor3D {
  if (startsWith(bytes, PNG_MAGIC)) return decodePng(bytes, options, source);
  if (startsWith(bytes, JPEG_MAGIC)) return fromImageBytes(decodeJpegBytes(bytes, options, source));
  throw new Error(`decodeImage: ${source} is neither a PNG nor a JPEG file (unrecognised signature)`);
}

async function readBytes(file: string, who: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${who}: cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

/** Reads a PNG file as a float32 [H, W, C] tensor in [0, 1]. */
export async function readPng(file: string, options: ReadImageOptions = {}): Promise<Tensor3D> {
  const bytes = await readBytes(file, 'readPng');
  if (!startsWith(bytes, PNG_MAGIC)) throw new Error(`readPng: ${file} is not a PNG file (no PNG signature)`);
  return decodePng(bytes, options, file);
}

/**
 * Reads a PNG or JPEG file as a float32 [H, W, C] tensor in [0, 1]. The format comes from
 * the file's signature (magic bytes), so a misnamed file still reads; the extension only
 * shapes the error message.
 */
export async function readImage(file: string, options: ReadImageOptions = {}): Promise<Tensor3D> {
  const bytes = await readBytes(file, 'readImage');
  if (startsWith(bytes, PNG_MAGIC)) return decodePng(bytes, options, file);
  if (startsWith(bytes, JPEG_MAGIC)) return fromImageBytes(decodeJpegBytes(bytes, options, file));
  const ext = path.extname(file).toLowerCase();
  const claimed = ext === '.png' ? ' although it is named .png' : ext === '.jpg' || ext === '.jpeg' ? ` although it is named ${ext}` : '';
  throw new Error(`readImage: ${file} is neither a PNG nor a JPEG file${claimed} (unrecognised signature)`);
}

/**
 * Writes an image tensor ([H, W, C] or [1, H, W, C], 1 or 3 channels, values clipped to
 * [0, 1]) as an 8-bit PNG, atomically (temp file + rename).
 */
export async function writePng(file: string, image: Tensor3D | Tensor4D): Promise<void> {
  let bytes: Buffer;
  try {
    bytes = encodePng(image);
  } catch (err) {
    throw new Error(`writePng: ${file}: ${(err as Error).message}`);
  }
  await writeFileAtomic(file, bytes);
}

/** Writes PNG (`.png`) or JPEG (`.jpg`, `.jpeg`) by the file's extension. */
export async function writeImage(file: string, image: Tensor3D | Tensor4D, options: { quality?: number } = {}): Promise<void> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.png') return writePng(file, image);
  if (ext === '.jpg' || ext === '.jpeg') {
    let bytes: Buffer;
    try {
      bytes = encodeJpeg(image, options.quality);
    } catch (err) {
      throw new Error(`writeImage: ${file}: ${(err as Error).message}`);
    }
    return writeFileAtomic(file, bytes);
  }
  throw new Error(`writeImage: ${file}: unknown extension "${ext}" (use .png, .jpg or .jpeg)`);
}

/** `imageGrid` written straight to a PNG file. */
export async function writeGrid(file: string, images: Tensor4D, options: GridOptions = {}): Promise<void> {
  const grid = imageGrid(images, options);
  try {
    await writePng(file, grid);
  } finally {
    grid.dispose();
  }
}
