import type { Tensor, Variable } from '@tensorflow/tfjs-core';

/**
 * What the training loop and checkpoints need from an optimizer: positional updates over a
 * fixed list of variables, an update count, and the state as named tensors so a checkpoint
 * restores it exactly. `Adam` implements it; so can any other update rule (e.g. SGD with
 * momentum) without subclassing Adam.
 */
export interface TrainingOptimizer {
  /** The variables this optimizer updates, in order. */
  readonly vars: readonly Variable[];
  /** Number of updates applied (saved in checkpoints, restored by `setState`). */
  readonly iterations: number;
  /** Applies one update from gradients given in the order of `vars` (not disposed here). */
  apply(grads: readonly Tensor[]): void;
  /** The state as named tensors, each name starting with `prefix` (views of the live state: do not dispose). */
  stateTensors(prefix?: string): Record<string, Tensor>;
  /** Replaces the state with copies of tensors named as by `stateTensors`, and the update count. */
  setState(tensors: Record<string, Tensor>, iterations: number, prefix?: string): void;
  /** Frees the optimizer's state (not the variables). */
  dispose(): void;
}
