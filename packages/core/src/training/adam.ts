import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { TrainingOptimizer } from './optimizer.js';

/** Adam settings (Kingma & Ba). */
export interface AdamOptions {
  /** Step size. Default 2e-4 (DeePSiM's, used for training G). */
  learningRate?: number;
  /** First-moment decay. Default 0.9. */
  beta1?: number;
  /** Second-moment decay. Default 0.999. */
  beta2?: number;
  /** Denominator guard. Default 1e-8. */
  epsilon?: number;
}

/**
 * Adam over the trainable weights of one LayersModel, with its state (moments m, v and the
 * update count) readable and writable as named tensors so a checkpoint restores it exactly:
 * the bias corrections are recomputed from the count, so a resumed run takes the same
 * steps bit for bit. Updates are positional over `model.trainableWeights`.
 */
export class Adam implements TrainingOptimizer {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** Number of updates applied. */
  iterations = 0;
  private readonly variables: Variable[];
  private m: Tensor[];
  private v: Tensor[];

  constructor(model: LayersModel, options: AdamOptions = {}) {
    this.learningRate = options.learningRate ?? 2e-4;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    for (const [k, v] of Object.entries({ learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2 })) {
      if (!(Number.isFinite(v) && v >= 0 && (k === 'learningRate' || v < 1))) {
        throw new Error(`Adam: ${k} must be ${k === 'learningRate' ? '>= 0' : 'in [0, 1)'}, got ${v}`);
      }
    }
    this.variables = model.trainableWeights.map((w) => w.read() as Variable);
    this.m = this.variables.map((x) => tf.zerosLike(x));
    this.v = this.variables.map((x) => tf.zerosLike(x));
  }

  /** The variables this optimizer updates, in order. */
  get vars(): readonly Variable[] {
    return this.variables;
  }

  /** Applies one update from gradients given in the order of `vars` (not disposed here). */
  apply(grads: readonly Tensor[]): void {
    if (grads.length !== this.variables.length) {
      throw new Error(`Adam: got ${grads.length} gradients for ${this.variables.length} variables`);
    }
    const t = this.iterations + 1;
    const stepSize = (this.learningRate * Math.sqrt(1 - this.beta2 ** t)) / (1 - this.beta1 ** t);
    const epsHat = this.epsilon * Math.sqrt(1 - this.beta2 ** t);
    const next = tf.tidy(() =>
      this.variables.map((x, i) => {
        const g = grads[i]!;
        const m = tf.add(tf.mul(this.m[i]!, this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(this.v[i]!, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        x.assign(tf.sub(x, tf.mul(tf.div(m, tf.add(tf.sqrt(v), epsHat)), stepSize)));
        return [m, v] as const;
      }),
    );
    tf.dispose([...this.m, ...this.v]);
    this.m = next.map((p) => p[0]);
    this.v = next.map((p) => p[1]);
    this.iterations = t;
  }

  /** The state as named tensors `<prefix>m/<i>`, `<prefix>v/<i>` (views of the live state: do not dispose). */
  stateTensors(prefix = ''): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.m.forEach((t, i) => {
      out[`${prefix}m/${i}`] = t;
    });
    this.v.forEach((t, i) => {
      out[`${prefix}v/${i}`] = t;
    });
    return out;
  }

  /** Replaces the state with copies of tensors named as by `stateTensors`; checks every shape. */
  setState(tensors: Record<string, Tensor>, iterations: number, prefix = ''): void {
    const pick = (kind: 'm' | 'v') =>
      this.variables.map((x, i) => {
        const t = tensors[`${prefix}${kind}/${i}`];
        if (t === undefined) throw new Error(`Adam: saved state has no "${prefix}${kind}/${i}"`);
        if (t.shape.join(',') !== x.shape.join(',')) {
          throw new Error(`Adam: saved "${prefix}${kind}/${i}" is [${t.shape.join(', ')}] but the variable ${x.name} is [${x.shape.join(', ')}]`);
        }
        return tf.clone(t);
      });
    const m = pick('m');
    const v = pick('v');
    tf.dispose([...this.m, ...this.v]);
    this.m = m;
    this.v = v;
    this.iterations = iterations;
  }

  /** Frees the moment tensors (not the model's variables). */
  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
    this.m = [];
    this.v = [];
  }
}
