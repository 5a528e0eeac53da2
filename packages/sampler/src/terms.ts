import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import type { Prior } from '@ppgn/core';

/** What a term sees at one step. Tensors belong to the sampler: read them, do not dispose them. */
export interface TermState {
  /** The latent codes, [batch, ...latentShape]. */
  h: Tensor;
  /** The images the condition sees: G(h), or the inpainting composite G(h) * mask + real * (1 - mask). */
  x: Tensor4D;
  /** G(h) itself (equal to `x` unless inpainting). */
  generated: Tensor4D;
  /** 0-based step index. */
  step: number;
}

/**
 * A user term of the update: `weight * gradient(state)` is added to the direction d.
 * - space 'h' (default): `gradient` returns a direction in h, shape of h.
 * - space 'x': `gradient` returns a direction in image space (shape of x, e.g. d log q(x)/dx);
 *   the sampler pulls it back into h through G in the same backward pass as the condition
 *   (through the inpainting composite when inpainting, so only the hole moves).
 * The returned tensor is used as a direction and is not differentiated further.
 */
export interface SamplerTerm {
  /** Unique name, shown in the trace; 'prior', 'condition', 'noise' and 'context' are taken. */
  readonly name: string;
  /** One line for logs. */
  readonly description: string;
  readonly weight: number;
  readonly space?: 'h' | 'x';
  gradient(state: TermState): Tensor;
}

/**
 * An extra prior as a term (the main prior goes in `sample({ prior })` with weight eps1):
 * `weight * prior.gradLogProb(h, x)`, in the prior's own space.
 */
export function priorTerm(prior: Prior, weight: number, name = `prior:${prior.id}`): SamplerTerm {
  return {
    name,
    description: `${weight} x ${prior.describe()}`,
    weight,
    space: prior.space,
    gradient: ({ h, x, generated }) => prior.gradLogProb(h, prior.space === 'x' ? x : generated),
  };
}
