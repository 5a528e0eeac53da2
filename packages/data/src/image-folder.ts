import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { arrayDataset, type Dataset } from './dataset.js';
import type { ImageBytes } from '@ppgn/core';
import { cropToAspect, decodeImageFile, resizeBytesInto } from './image-files.js';

/** File extensions `imageFolder` reads (case-insensitive); other files are skipped. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg'];

/** Options of `imageFolder`. */
export interface ImageFolderOptions {
  /**
   * [height, width] every image is resized to. Without it all images must already share
   * one size (an error names the first file that differs).
   */
  size?: [number, number];
  /** 3 for RGB (default) or 1 for grey (luma). */
  channels?: 1 | 3;
  /** Grey level in [0, 1] that transparent pixels are composited onto (default 1, white). */
  background?: number;
  /**
   * How an image of another aspect ratio meets `size`: 'fill' stretches it (default);
   * 'cover' crops its centre to the target aspect ratio first.
   */
  fit?: 'fill' | 'cover';
  /** Dataset name (default: the folder's base name). */
  name?: string;
}

/** An image-folder dataset; `files[i]` is the path item i was read from. */
export interface ImageFolderDataset extends Dataset {
  readonly files: readonly string[];
}

/**
 * Loads `dir/<class>/<image>` into memory: one sub-folder per class, class names are the
 * sub-folder names sorted by code point, items are ordered by class and then by file name.
 * PNG and JPEG files (`IMAGE_EXTENSIONS`) are read; other files, hidden entries and files
 * directly in `dir` are skipped. Images are resized on the CPU (area average down, bilinear
 * up) and kept as bytes; images of the target size keep their exact bytes. Errors name the folder or file at fault.
 */
export async function imageFolder(dir: string, options: ImageFolderOptions = {}): Promise<ImageFolderDataset> {
  const { size, channels = 3, background = 1, fit = 'fill' } = options;
  if (channels !== 1 && channels !== 3) throw new Error(`imageFolder: channels must be 1 or 3, got ${channels}`);
  if (size !== undefined && !size.every((s) => Number.isInteger(s) && s > 0)) {
    throw new Error(`imageFolder: size must be [height, width] of positive integers, got [${size.join(', ')}]`);
  }
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new Error(`imageFolder: cannot read folder ${dir}: ${(err as Error).message}`);
  }
  const classNames = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort(byCodePoint);
  if (classNames.length === 0) throw new Error(`imageFolder: ${dir} has no class sub-folders`);
  const files: string[] = [];
  const labelList: number[] = [];
  for (const [label, cls] of classNames.entries()) {
    const names = (await readdir(join(dir, cls), { withFileTypes: true }))
      .filter((e) => e.isFile() && !e.name.startsWith('.') && IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase()))
      .map((e) => e.name)
      .sort(byCodePoint);
    if (names.length === 0) {
      throw new Error(`imageFolder: class folder ${join(dir, cls)} has no ${IMAGE_EXTENSIONS.join('/')} files`);
    }
    for (const n of names) {
      files.push(join(dir, cls, n));
      labelList.push(label);
    }
  }
  let shape: [number, number] | undefined = size;
  let pixels: Uint8Array | undefined;
  for (const [i, file] of files.entries()) {
    let img: ImageBytes;
    try {
      img = decodeImageFile(await readFile(file), file, { channels, background });
    } catch (err) {
      throw new Error(`imageFolder: ${(err as Error).message}`);
    }
    if (shape === undefined) shape = [img.height, img.width];
    else if (size === undefined && (img.height !== shape[0] || img.width !== shape[1])) {
      throw new Error(
        `imageFolder: ${file} is ${img.width}x${img.height} (width x height) but ${files[0]} is ${shape[1]}x${shape[0]}; pass options.size to resize`,
      );
    }
    const [H, W] = shape;
    if (fit === 'cover') img = cropToAspect(img, W / H);
    pixels ??= new Uint8Array(files.length * H * W * channels);
    resizeBytesInto(img, [H, W], pixels, i * H * W * channels);
  }
  const dataset = arrayDataset({
    name: options.name ?? basename(dir),
    imageShape: [shape![0], shape![1], channels],
    classNames,
    labels: Int32Array.from(labelList),
    pixels: pixels!,
  });
  return { ...dataset, files, images: dataset.images };
}

/** Sort by UTF-16 code units, the same on every machine and locale. */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
