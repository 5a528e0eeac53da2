import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import type { Rng } from '../rng.js';

/**
 * Where training batches come from:
 * - a tensor holding the whole set [N, ...]: each step draws `batchSize` rows at random
 *   from the step's seeded stream (the set is not disposed);
 * - an array of batch tensors: step i uses batch i mod length (not disposed);
 * - a function `(step, batchSize) => batch` (sync or async), called with the 0-based step
 *   index, so a resumed run gets the same batches; the trainer disposes each batch;
 * - an iterable or async iterable of batches; the trainer disposes each batch. On resume
 *   the batches of the steps already done are drawn and dropped, so a deterministic
 *   iterable continues where the interrupted run stopped.
 */
export type TrainingData<T extends Tensor = Tensor> =
  | T
  | readonly T[]
  | ((step: number, batchSize: number) => T | Promise<T>)
  | Iterable<T>
  | AsyncIterable<T>;

/** True for a tfjs Tensor (duck-typed, so a second copy of tfjs-core is recognised too). */
export function isTensor(x: unknown): x is Tensor {
  return (
    typeof x === 'object' && x !== null && Array.isArray((x as Tensor).shape) && typeof (x as Tensor).dataSync === 'function'
  );
}

/** One batch and whether the trainer must dispose it. */
export interface Batch<T extends Tensor> {
  tensor: T;
  owned: boolean;
}

/** Reads batches from a `TrainingData` source. */
export interface BatchReader<T extends Tensor> {
  /** The batch for step `step`; `rng` is the step's stream (used for random draws from a set). */
  next(step: number, rng: Rng): Promise<Batch<T>>;
  /** Moves past the first `steps` steps of an iterator (no-op for other sources). */
  skip(steps: number): Promise<void>;
}

/**
 * Turns a `TrainingData` source into a `BatchReader`. `check` validates each batch (it
 * should throw naming the expected shape); `who` names the caller in errors.
 */
export function batchReader<T extends Tensor>(
  data: TrainingData<T>,
  batchSize: number,
  who: string,
  check: (batch: Tensor) => void,
): BatchReader<T> {
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new Error(`${who}: batchSize must be a positive integer, got ${batchSize}`);
  }
  /** A batch the reader made: checked, and freed when the check fails. */
  const checkedOwned = (tensor: T): T => {
    try {
      check(tensor);
    } catch (err) {
      tensor.dispose();
      throw err;
    }
    return tensor;
  };
  if (isTensor(data)) {
    const set = data as T;
    const first = tf.slice(set, 0, 1);
    try {
      check(first);
    } finally {
      first.dispose();
    }
    const n = set.shape[0]!;
    if (n === 0) throw new Error(`${who}: the training set is empty`);
    return {
      async next(_step, rng) {
        const idx = Array.from({ length: batchSize }, () => rng.int(n));
        const tensor = tf.tidy(() => tf.gather(set, tf.tensor1d(idx, 'int32'))) as T;
        return { tensor, owned: true };
      },
      async skip() {},
    };
  }
  if (Array.isArray(data)) {
    const list = data as readonly T[];
    if (list.length === 0) throw new Error(`${who}: the list of batches is empty`);
    return {
      async next(step) {
        const tensor = list[step % list.length]!;
        check(tensor);
        return { tensor, owned: false };
      },
      async skip() {},
    };
  }
  if (typeof data === 'function') {
    const fn = data as (step: number, batchSize: number) => T | Promise<T>;
    return {
      async next(step) {
        return { tensor: checkedOwned(await fn(step, batchSize)), owned: true };
      },
      async skip() {},
    };
  }
  const iterable = data as Iterable<T> | AsyncIterable<T>;
  const it =
    Symbol.asyncIterator in iterable
      ? (iterable as AsyncIterable<T>)[Symbol.asyncIterator]()
      : Symbol.iterator in iterable
        ? (iterable as Iterable<T>)[Symbol.iterator]()
        : undefined;
  if (it === undefined) {
    throw new Error(`${who}: data must be a tensor, an array of batches, a function or an (async) iterable`);
  }
  let drawn = 0;
  const pull = async (step: number): Promise<T> => {
    const r = await it.next();
    if (r.done) throw new Error(`${who}: the data iterator ran out after ${drawn} batches (at step ${step})`);
    drawn += 1;
    return r.value;
  };
  return {
    async next(step) {
      return { tensor: checkedOwned(await pull(step)), owned: true };
    },
    async skip(steps) {
      for (let i = 0; i < steps; i++) (await pull(i)).dispose();
    },
  };
}
