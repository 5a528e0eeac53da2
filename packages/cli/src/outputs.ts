import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { imageGrid, writeGif, writeGrid, writePng } from '@ppgn/core';
import type { Frame } from '@ppgn/sampler';
import * as tf from '@tensorflow/tfjs';

/** Pixel upscaling for small images so grids and GIFs are readable. */
export function displayScale(height: number): number {
  return Math.max(1, Math.round(96 / height));
}

/** Writes each image as its own PNG (`<prefix>-000.png`, ...) and returns the paths. */
export async function writeEachPng(dir: string, images: tf.Tensor4D, prefix = 'sample'): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < images.shape[0]; i++) {
    const file = join(dir, `${prefix}-${String(i).padStart(3, '0')}.png`);
    const one = tf.slice(images, [i, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
    try {
      await writePng(file, one);
    } finally {
      one.dispose();
    }
    files.push(file);
  }
  return files;
}

/** A labelled grid PNG, upscaled for display. */
export async function writeLabelledGrid(file: string, images: tf.Tensor4D, labels?: string[], columns?: number): Promise<void> {
  await writeGrid(file, images, { labels, columns, scale: displayScale(images.shape[1]) });
}

/** A sampling chain as an animated GIF: frame t is the grid of every chain at that step, labelled. */
export async function writeChainGif(file: string, frames: readonly Frame[], options: { columns?: number; delayMs?: number } = {}): Promise<void> {
  const grids = frames.map((frame) =>
    tf.tidy(() => {
      const images = tf.tensor4d(frame.images, frame.shape);
      const labels = Array.from({ length: frame.shape[0] }, (_, i) => (i === 0 ? `step ${frame.step}` : ''));
      return imageGrid(images, { columns: options.columns, labels, scale: displayScale(frame.shape[1]) });
    }),
  );
  const stacked = tf.stack(grids) as tf.Tensor4D;
  tf.dispose(grids);
  try {
    await writeGif(file, stacked, { delayMs: options.delayMs ?? 120, loop: true });
  } finally {
    stacked.dispose();
  }
}
