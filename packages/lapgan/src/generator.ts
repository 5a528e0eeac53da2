import type { Generator, ImageShape } from '@ppgn/core';
import type { Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { LapganPyramid } from './level.js';
import { decodeLatent, extensionSizes, type LatentLayout, latentLayout, resolveClasses, sampleLatent } from './sample.js';

export interface PyramidGeneratorOptions {
  pyramid: LapganPyramid;
  /** The class every image is made for (required for a conditional pyramid, not allowed otherwise). */
  classIndex?: number;
  /** Extra applications of the finest level past the training resolution (see `samplePyramid`). */
  extend?: number | readonly number[];
  /** Dispose the pyramid with the generator. Default false (the caller keeps it). */
  ownsPyramid?: boolean;
  id?: string;
}

/** A LAPGAN as a core `Generator`, plus the latent layout and a sampler of its training noise. */
export interface PyramidGenerator extends Generator {
  readonly layout: LatentLayout;
  /** `n` latent codes from U(-1, 1), the distribution the levels were trained on. */
  sampleLatent(n: number, seed: number): Tensor2D;
}

/**
 * Wraps a pyramid as a core `Generator` so the PPGN sampler can steer a LAPGAN with any
 * Condition. The latent code h is every level's noise, flattened and concatenated (base z,
 * then one noise plane per finer level; see `latentLayout`): `latentShape` is [total].
 * `generate(h)` is deterministic given h and differentiable in h; it returns the finest
 * images in [0, 1]. The levels were trained on noise in U(-1, 1): codes far outside that
 * box are out of distribution.
 */
export function pyramidGenerator(options: PyramidGeneratorOptions): PyramidGenerator {
  const { pyramid, classIndex } = options;
  const ext = extensionSizes(pyramid, options.extend, 'pyramidGenerator');
  if (pyramid.numClasses > 0 && classIndex === undefined) {
    throw new Error(`pyramidGenerator: the pyramid is conditional (${pyramid.numClasses} classes); pass classIndex`);
  }
  resolveClasses(pyramid, classIndex, 1, 'pyramidGenerator');
  const layout = latentLayout(pyramid, ext);
  const size = layout.sizes[layout.sizes.length - 1]!;
  const imageShape: ImageShape = [size, size, pyramid.channels];
  const cls = classIndex === undefined ? '' : `/${pyramid.className(classIndex)}`;
  const id = options.id ?? `lapgan(${layout.sizes.join('-')})${cls}`;
  return {
    id,
    latentShape: [layout.total],
    imageShape,
    layout,
    describe: () =>
      `LAPGAN generator ${layout.sizes.join(' -> ')}${classIndex === undefined ? '' : ` for ${pyramid.className(classIndex)}`}, latent ${layout.total}`,
    generate(h: Tensor): Tensor4D {
      const b = h.shape[0]!;
      const classes = resolveClasses(pyramid, classIndex, b, 'pyramidGenerator');
      return decodeLatent(pyramid, layout, h, classes).images;
    },
    sampleLatent: (n, seed) => sampleLatent(layout, n, seed),
    dispose: () => {
      if (options.ownsPyramid) pyramid.dispose();
    },
  };
}
