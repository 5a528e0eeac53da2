/**
 * Messages between the pool (main thread) and its workers. Plain data only: typed arrays and
 * ArrayBuffers travel by transfer, weights and gradients through SharedArrayBuffers.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { BackendName } from '../init.js';

/** What a `pool.map` task function receives besides its input. */
export interface TaskContext {
  /** The worker's tfjs, with its backend set. */
  tf: typeof tfjs;
  /** The backend `initBackend` set in this worker. */
  backend: string;
  workerIndex: number;
}

/** A function exported by an ES module that workers import (`module` is a file URL or path). */
export interface ModuleExport {
  module: string | URL;
  export: string;
}

/** A tensor as it crosses threads. */
export interface TensorData {
  data: Float32Array | Int32Array | Uint8Array;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
}

/** Where each weight sits in a flat Float32 buffer. */
export interface WeightSlot {
  offset: number;
  length: number;
  shape: number[];
}

export interface WorkerOptions {
  backend?: BackendName;
  index: number;
}

export type LossName =
  | 'categoricalCrossentropy'
  | 'sparseCategoricalCrossentropy'
  | 'meanSquaredError'
  | 'binaryCrossentropy';

export type LossSpec = LossName | ModuleExport;

/** A loss that has crossed threads: module URLs become strings. */
export type WireLoss = LossName | { module: string; export: string };

export type Request =
  | { type: 'map'; id: number; module: string; export: string; input: unknown }
  | {
      type: 'trainer-init';
      id: number;
      trainerId: number;
      topology: string;
      loss: WireLoss;
      /** All of `model.weights`, in order, as float32. */
      weights: SharedArrayBuffer;
      layout: WeightSlot[];
      /** Indices into `layout` of the trainable weights, in `model.trainableWeights` order. */
      trainable: number[];
      /** This worker's output: gradients of the trainable weights, then non-trainable weights. */
      output: SharedArrayBuffer;
      /** Largest number of examples per forward/backward pass; 0: the whole shard at once. */
      microBatch: number;
    }
  | {
      type: 'trainer-step';
      id: number;
      trainerId: number;
      weightsVersion: number;
      xs: TensorData;
      ys: TensorData;
    }
  | { type: 'trainer-dispose'; id: number; trainerId: number };

/** A request without its id, which the pool assigns. */
export type RequestBody = Request extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

export type Reply =
  | { type: 'ready'; backend: string }
  | { type: 'init-error'; error: SerializedError }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: SerializedError };

/** What a trainer step returns from a worker; the gradients are in the shared output buffer. */
export interface StepResult {
  loss: number;
  size: number;
  /** Time the worker spent on the step, ms. */
  ms: number;
}

/**
 * The layout of a worker's output buffer for a trainer: the gradient of each trainable weight
 * (in `trainable` order), then the value of each non-trainable weight (in `layout` order), so
 * that state updated in a training-mode forward pass (batch-norm statistics) comes back too.
 */
export function outputLayout(layout: WeightSlot[], trainable: number[]): { index: number; offset: number; length: number }[] {
  const trainableSet = new Set(trainable);
  const order = [...trainable, ...layout.map((_, i) => i).filter((i) => !trainableSet.has(i))];
  let offset = 0;
  return order.map((index) => {
    const length = layout[index]?.length ?? 0;
    const slot = { index, offset, length };
    offset += length;
    return slot;
  });
}
