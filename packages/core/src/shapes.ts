import type { Tensor } from '@tensorflow/tfjs-core';
import type { ImageShape } from './interfaces.js';

/** `32x32x3`, for error messages. */
export function shapeToString(shape: readonly number[]): string {
  return shape.join('x');
}

/**
 * Throws an error naming `who` when `x` is not a batch of images of `shape` ([B, H, W, C]).
 */
export function assertImageBatch(x: Tensor, shape: ImageShape, who: string): void {
  if (x.rank !== 4) {
    throw new Error(`${who}: expected images of shape [batch, ${shape.join(', ')}], got rank ${x.rank} [${x.shape.join(', ')}]`);
  }
  const [, h, w, c] = x.shape;
  if (h !== shape[0] || w !== shape[1] || c !== shape[2]) {
    throw new Error(`${who}: expected ${shapeToString(shape)} images, got ${shapeToString([h!, w!, c!])}`);
  }
}

/** Throws when any value of `x` is NaN or infinite, naming `what`. Reads the data back (sync). */
export function assertFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new Error(`${what} contains ${values[i]} at flat index ${i}`);
    }
  }
}
