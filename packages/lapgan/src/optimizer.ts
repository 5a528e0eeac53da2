/**
 * Optimizers of level training. Both implement core's `TrainingOptimizer` (positional
 * updates over a model's trainable weights, state saved in checkpoints by core's training
 * loop), so a resumed run continues exactly.
 *
 * - Adam (the default): lr 2e-4, beta1 0.5, beta2 0.999 (the usual GAN settings).
 * - SGD with momentum as in Torch's optim.sgd, which the reference LAPGAN code used:
 *   v = momentum v + (1 - dampening) g (v = g on the first step), w -= lr v. Defaults: the
 *   reference lr 0.02 and momentum 0.7 (reached gradually there), dampening = momentum
 *   (Torch's default).
 */
import { Adam, type TrainingOptimizer } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

export type OptimizerOptions =
  | { type: 'adam'; lr?: number; beta1?: number; beta2?: number; epsilon?: number }
  | { type: 'sgd'; lr?: number; momentum?: number; dampening?: number };

export type ResolvedOptimizer =
  | { type: 'adam'; lr: number; beta1: number; beta2: number; epsilon: number }
  | { type: 'sgd'; lr: number; momentum: number; dampening: number };

/** Fills in the defaults (see the module notes); `lr` overrides the optimizer's own. */
export function resolveOptimizer(options: OptimizerOptions | 'adam' | 'sgd' | undefined, lr?: number): ResolvedOptimizer {
  const o: OptimizerOptions = options === undefined || options === 'adam' ? { type: 'adam' } : options === 'sgd' ? { type: 'sgd' } : options;
  let resolved: ResolvedOptimizer;
  if (o.type === 'adam') {
    resolved = { type: 'adam', lr: lr ?? o.lr ?? 2e-4, beta1: o.beta1 ?? 0.5, beta2: o.beta2 ?? 0.999, epsilon: o.epsilon ?? 1e-8 };
  } else if (o.type === 'sgd') {
    const momentum = o.momentum ?? 0.7;
    resolved = { type: 'sgd', lr: lr ?? o.lr ?? 0.02, momentum, dampening: o.dampening ?? momentum };
  } else {
    throw new Error(`optimizer: unknown type ${JSON.stringify((o as { type: unknown }).type)} (use 'adam' or 'sgd')`);
  }
  for (const [k, v] of Object.entries(resolved)) {
    if (typeof v === 'number' && !(Number.isFinite(v) && v >= 0)) throw new Error(`optimizer: ${k} must be a finite number >= 0, got ${v}`);
  }
  return resolved;
}

/** Torch-style SGD with momentum (state: `<prefix>velocity/<i>`, none before the first update). */
export class MomentumSgd implements TrainingOptimizer {
  /** Number of updates applied. */
  iterations = 0;
  private readonly variables: Variable[];
  private velocity: Tensor[] = [];

  constructor(
    model: LayersModel,
    readonly momentum: number,
    readonly dampening: number,
    readonly learningRate: number,
  ) {
    for (const [k, v] of Object.entries({ momentum, dampening, learningRate })) {
      if (!(Number.isFinite(v) && v >= 0 && (k === 'learningRate' || v <= 1))) {
        throw new Error(`MomentumSgd: ${k} must be ${k === 'learningRate' ? '>= 0' : 'in [0, 1]'}, got ${v}`);
      }
    }
    this.variables = model.trainableWeights.map((w) => w.read() as Variable);
  }

  /** The variables this optimizer updates, in order. */
  get vars(): readonly Variable[] {
    return this.variables;
  }

  apply(grads: readonly Tensor[]): void {
    const vars = this.vars;
    if (grads.length !== vars.length) throw new Error(`MomentumSgd: got ${grads.length} gradients for ${vars.length} variables`);
    const next = tf.tidy(() =>
      vars.map((x, i) => {
        const g = grads[i]!;
        const old = this.velocity[i];
        const v = old === undefined ? tf.clone(g) : tf.add(tf.mul(old, this.momentum), tf.mul(g, 1 - this.dampening));
        x.assign(tf.sub(x, tf.mul(v, this.learningRate)));
        return v;
      }),
    );
    tf.dispose(this.velocity);
    this.velocity = next;
    this.iterations += 1;
  }

  stateTensors(prefix = ''): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.velocity.forEach((t, i) => {
      out[`${prefix}velocity/${i}`] = t;
    });
    return out;
  }

  setState(tensors: Record<string, Tensor>, iterations: number, prefix = ''): void {
    const vars = this.vars;
    const velocity: Tensor[] = [];
    if (iterations > 0) {
      vars.forEach((x, i) => {
        const t = tensors[`${prefix}velocity/${i}`];
        if (t === undefined) throw new Error(`MomentumSgd: saved state has no "${prefix}velocity/${i}"`);
        if (t.shape.join(',') !== x.shape.join(',')) {
          throw new Error(`MomentumSgd: saved "${prefix}velocity/${i}" is [${t.shape.join(', ')}] but the variable ${x.name} is [${x.shape.join(', ')}]`);
        }
        velocity.push(tf.clone(t));
      });
    }
    tf.dispose(this.velocity);
    this.velocity = velocity;
    this.iterations = iterations;
  }

  dispose(): void {
    tf.dispose(this.velocity);
    this.velocity = [];
  }
}

/** The optimizer `options` describe, over `model`'s trainable weights. */
export function createOptimizer(model: LayersModel, options: ResolvedOptimizer): TrainingOptimizer {
  return options.type === 'adam'
    ? new Adam(model, { learningRate: options.lr, beta1: options.beta1, beta2: options.beta2, epsilon: options.epsilon })
    : new MomentumSgd(model, options.momentum, options.dampening, options.lr);
}
