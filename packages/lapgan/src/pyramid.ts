/**
 * Gaussian and Laplacian pyramids (Denton et al. 2015):
 *   I_0 = the image at the finest size, I_{k+1} = d(I_k),
 *   h_k = I_k - u(I_{k+1})  (band-pass residuals), the coarsest level keeps I_K,
 *   I_k = u(I_{k+1}) + h_k  (reconstruction, exact by construction).
 * d is area averaging and u bilinear with aligned corners (see resize.ts).
 *
 * Sizes are always listed coarse to fine, as in a pyramid config (`[8, 16, 32]`,
 * `[8, 14, 28]`); pyramids come back fine to coarse, index 0 being the finest level.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { downsample, resize, upsample } from './resize.js';

/** A Laplacian pyramid: band-pass residuals from fine to coarse, then the coarsest low-pass image. */
export interface LaplacianPyramid {
  /** bands[k] = I_k - u(I_{k+1}), k = 0 (finest) .. K - 1. */
  bands: Tensor4D[];
  /** I_K, the coarsest low-pass image. */
  base: Tensor4D;
}

/** Checks that `sizes` are positive integers, strictly increasing (coarse to fine). */
export function checkSizes(sizes: readonly number[], who: string): void {
  if (sizes.length === 0) throw new Error(`${who}: sizes must list at least one size`);
  sizes.forEach((s, i) => {
    if (!Number.isInteger(s) || s <= 0) throw new Error(`${who}: sizes[${i}] must be a positive integer, got ${s}`);
    if (i > 0 && s <= sizes[i - 1]!) {
      throw new Error(`${who}: sizes must increase from coarse to fine, got [${sizes.join(', ')}]`);
    }
  });
}

/**
 * The Gaussian pyramid of `x` at `sizes` (coarse to fine): the image is first brought to
 * the finest size (area-averaged if larger, bilinear if smaller), then repeatedly
 * downsampled. Returns fine to coarse: result[0] is sizes[last] x sizes[last].
 */
export function gaussianPyramid(x: Tensor4D, sizes: readonly number[]): Tensor4D[] {
  checkSizes(sizes, 'gaussianPyramid');
  const levels: Tensor4D[] = [resize(x, sizes[sizes.length - 1]!)];
  for (let k = sizes.length - 2; k >= 0; k--) levels.push(downsample(levels[levels.length - 1]!, sizes[k]!));
  return levels;
}

/** The Laplacian pyramid of `x` at `sizes` (coarse to fine). The caller disposes its tensors. */
export function laplacianPyramid(x: Tensor4D, sizes: readonly number[]): LaplacianPyramid {
  checkSizes(sizes, 'laplacianPyramid');
  const gauss = gaussianPyramid(x, sizes);
  const bands = tf.tidy(() =>
    gauss.slice(0, -1).map((fine, k) => tf.sub(fine, upsample(gauss[k + 1]!, [fine.shape[1], fine.shape[2]])) as Tensor4D),
  );
  const base = gauss[gauss.length - 1]!;
  tf.dispose(gauss.slice(0, -1));
  return { bands, base };
}

/** Rebuilds the finest image from a Laplacian pyramid: I_k = u(I_{k+1}) + h_k, coarse to fine. */
export function collapsePyramid(pyramid: LaplacianPyramid): Tensor4D {
  return tf.tidy(() => {
    let image = pyramid.base;
    for (let k = pyramid.bands.length - 1; k >= 0; k--) {
      const band = pyramid.bands[k]!;
      if (band.shape[3] !== image.shape[3] || band.shape[0] !== image.shape[0]) {
        throw new Error(
          `collapsePyramid: band ${k} has shape [${band.shape.join(', ')}] but the level above is [${image.shape.join(', ')}]`,
        );
      }
      image = tf.add(upsample(image, [band.shape[1], band.shape[2]]), band);
    }
    return tf.clone(image);
  });
}

/** One level's training example: what the generator of a `coarseSize -> fineSize` level learns. */
export interface TrainingPair {
  /** scale(I, F): the image at the level's size. */
  fine: Tensor4D;
  /** u(d(I to C), F): the coarser image brought back to the level's size (the generator's input l). */
  coarse: Tensor4D;
  /** fine - coarse: the band-pass residual the generator produces. */
  residual: Tensor4D;
}

/**
 * Builds the training example of a level the way the reference code does, straight from
 * the full-resolution image: fine = scale(I, F), coarse = scale(scale(I, C), F),
 * residual = fine - coarse. The caller disposes the three tensors.
 */
export function trainingPair(images: Tensor4D, coarseSize: number, fineSize: number): TrainingPair {
  checkSizes([coarseSize, fineSize], 'trainingPair');
  return tf.tidy(() => {
    const fine = resize(images, fineSize);
    const coarse = upsample(resize(images, coarseSize), fineSize);
    return { fine, coarse, residual: tf.sub(fine, coarse) as Tensor4D };
  });
}
