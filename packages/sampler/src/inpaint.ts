import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { type Encoder, type Generator, shapeToString } from '@ppgn/core';

/**
 * Inpainting: fill the hole of a real image. Each step the condition (and x-space priors and
 * terms) see the composite G(h) * mask + image * (1 - mask); their gradients reach h only
 * through the hole, and the context term eps4 * d/dh -||(image - G(h)) * (1 - mask)||^2 keeps
 * G(h) consistent with the known region.
 */
export interface InpaintOptions {
  /** The real image(s): [H, W, C], [1, H, W, C] or [batch, H, W, C], the generator's image shape. */
  image: Tensor;
  /**
   * 1 = hole (generated), 0 = known (kept from `image`); values in [0, 1]. [H, W], [H, W, 1|C],
   * or [1|batch, H, W, 1|C].
   */
  mask: Tensor;
  /** When given (and `init` is not), chains start from h = E(image * (1 - mask) + fill * mask). */
  encoder?: Encoder;
  /**
   * What E sees in the hole at the start: [H, W, C] or [1|batch, H, W, C], or a number.
   * Default 0 (the masked image). The training set's mean image gives E a neutral guess
   * instead of a black hole, which it would read as a gap in the strokes.
   */
  fill?: Tensor | number;
}

/** Inpainting tensors in sampler layout; owned (kept) by the sampler. */
export interface InpaintState {
  /** [1|B, H, W, C] */
  real: Tensor4D;
  /** [1|B, H, W, 1|C], 1 = hole */
  mask: Tensor4D;
  /** 1 - mask */
  known: Tensor4D;
  /** (1 - mask)^2: the derivative weight of the context term */
  contextWeight: Tensor4D;
  /** [1|B, H, W, C]: what E sees in the hole at the start (the `fill` option; 0 by default) */
  fill: Tensor4D;
}

/** Checks shapes and values and builds the kept tensors. Throws naming both sides. */
export function prepareInpaint(options: InpaintOptions, generator: Generator, batch: number): InpaintState {
  const [H, W, C] = generator.imageShape;
  const { image, mask } = options;
  const img = image.rank === 3 ? [1, ...image.shape] : image.shape;
  if (img.length !== 4) {
    throw new Error(`sample: inpaint.image has shape [${image.shape.join(', ')}]; expected [H, W, C] or [batch, H, W, C]`);
  }
  const [ib, ih, iw, ic] = img as [number, number, number, number];
  if (ih !== H || iw !== W || ic !== C) {
    throw new Error(
      `sample: inpaint.image is ${shapeToString([ih, iw, ic])} but generator ${generator.id} makes ${shapeToString(generator.imageShape)} images`,
    );
  }
  if (ib !== 1 && ib !== batch) {
    throw new Error(`sample: inpaint.image has batch ${ib} but the sampler runs ${batch} chains (expected 1 or ${batch})`);
  }
  let m: number[];
  // normalised to [1|B, H, W, 1|C]
  if (mask.rank === 2) m = [1, ...mask.shape, 1];
  else if (mask.rank === 3) m = [1, ...mask.shape];
  else if (mask.rank === 4) m = [...mask.shape];
  else m = [];
  const [mb, mh, mw, mc] = m;
  if (m.length !== 4 || mh !== H || mw !== W || (mc !== 1 && mc !== C) || (mb !== 1 && mb !== batch)) {
    throw new Error(
      `sample: inpaint.mask has shape [${mask.shape.join(', ')}] but the image is ${shapeToString([H, W, C])} with ${batch} chains ` +
        `(expected [${H}, ${W}], [${H}, ${W}, 1${C === 1 ? '' : `|${C}`}] or [1|${batch}, ${H}, ${W}, 1${C === 1 ? '' : `|${C}`}])`,
    );
  }
  const [lo, hi] = tf.tidy(() => {
    const f = tf.cast(mask, 'float32');
    return [tf.min(f).dataSync()[0]!, tf.max(f).dataSync()[0]!];
  });
  if (!(lo >= 0 && hi <= 1)) {
    throw new Error(`sample: inpaint.mask values lie in [${lo}, ${hi}]; expected values in [0, 1] (1 = hole)`);
  }
  const { fill } = options;
  let fillShape: number[] = [1, 1, 1, 1];
  if (fill instanceof tf.Tensor) {
    fillShape = fill.rank === 3 ? [1, ...fill.shape] : fill.shape;
    const [fb, fh, fw, fc] = fillShape;
    if (fillShape.length !== 4 || fh !== H || fw !== W || fc !== C || (fb !== 1 && fb !== batch)) {
      throw new Error(
        `sample: inpaint.fill has shape [${fill.shape.join(', ')}] but the image is ${shapeToString([H, W, C])} with ${batch} chains (expected [${H}, ${W}, ${C}] or [1|${batch}, ${H}, ${W}, ${C}])`,
      );
    }
  } else if (fill !== undefined && !Number.isFinite(fill)) {
    throw new Error(`sample: inpaint.fill must be a tensor or a finite number, got ${fill}`);
  }
  if (options.encoder) {
    const e = options.encoder;
    if (shapeToString(e.imageShape) !== shapeToString(generator.imageShape)) {
      throw new Error(
        `sample: inpaint.encoder ${e.id} accepts ${shapeToString(e.imageShape)} images but generator ${generator.id} makes ${shapeToString(generator.imageShape)}`,
      );
    }
  }
  return tf.tidy(() => {
    const real = tf.keep(tf.cast(tf.reshape(image, img) as Tensor, 'float32')) as Tensor4D;
    const mk = tf.keep(tf.cast(tf.reshape(mask, m) as Tensor, 'float32')) as Tensor4D;
    const known = tf.keep(tf.sub(1, mk) as Tensor4D);
    const contextWeight = tf.keep(tf.square(known) as Tensor4D);
    const filler =
      fill instanceof tf.Tensor ? tf.reshape(tf.cast(fill, 'float32'), fillShape) : tf.fill(fillShape, fill ?? 0);
    return { real, mask: mk, known, contextWeight, fill: tf.keep(filler as Tensor4D) };
  });
}

/** G(h) * mask + real * (1 - mask). */
export function composite(state: InpaintState, generated: Tensor4D): Tensor4D {
  return tf.tidy(() => tf.add(tf.mul(generated, state.mask), tf.mul(state.real, state.known)) as Tensor4D);
}

/** What E sees at the start, image * (1 - mask) + fill * mask, for `batch` chains. */
export function startImage(state: InpaintState, batch: number): Tensor4D {
  return tf.tidy(() => {
    const start = tf.add(tf.mul(state.real, state.known), tf.mul(state.fill, state.mask)) as Tensor4D;
    return start.shape[0] === batch ? start : (tf.tile(start, [batch, 1, 1, 1]) as Tensor4D);
  });
}

/** Frees the kept tensors. */
export function disposeInpaint(state: InpaintState): void {
  tf.dispose([state.real, state.mask, state.known, state.contextWeight, state.fill]);
}


/** Hole shapes for `inpaintMask`. */
export const MASK_KINDS = ['square', 'left', 'right', 'top', 'bottom', 'center'] as const;
export type MaskKind = (typeof MASK_KINDS)[number];

/**
 * A hole mask [H, W, 1] (1 = hole): a half of the image, a centred square, or a square at a
 * random position (`square`, side `size` or H/2, placed with `random`, a uniform source in [0, 1)).
 */
export function inpaintMask(kind: MaskKind, height: number, width: number, options: { size?: number; random?: () => number } = {}): Tensor {
  if (!MASK_KINDS.includes(kind)) throw new Error(`inpaintMask: unknown mask '${kind}'; masks are ${MASK_KINDS.join(', ')}`);
  const side = options.size ?? Math.round(Math.min(height, width) / 2);
  if (!Number.isInteger(side) || side < 1 || side > Math.min(height, width)) {
    throw new Error(`inpaintMask: square side ${side} does not fit a ${height}x${width} image`);
  }
  let [top, left, bottom, right] = [0, 0, height, width];
  if (kind === 'left') right = Math.floor(width / 2);
  if (kind === 'right') left = Math.floor(width / 2);
  if (kind === 'top') bottom = Math.floor(height / 2);
  if (kind === 'bottom') top = Math.floor(height / 2);
  if (kind === 'center' || kind === 'square') {
    const random = kind === 'square' && options.random ? options.random : () => 0.5;
    top = Math.floor(random() * (height - side + 1));
    left = Math.floor(random() * (width - side + 1));
    [bottom, right] = [top + side, left + side];
  }
  const values = new Float32Array(height * width);
  for (let r = top; r < bottom; r++) values.fill(1, r * width + left, r * width + right);
  return tf.tensor3d(values, [height, width, 1]);
}
