import * as tf from '@tensorflow/tfjs';
import { FlatAdam, type FlatOptimizer, type FlatRange, FlatSgd } from './flat-optimizer.js';
import { readInto, writeVariable } from './heap.js';
import { toWireLoss } from './losses.js';
import { type LossSpec, outputLayout, type StepResult, type TensorData, type WeightSlot } from './protocol.js';
import type { WorkerPool } from './worker-pool.js';

export type OptimizerSpec =
  | 'adam'
  | 'sgd'
  | { name: 'adam'; learningRate?: number; beta1?: number; beta2?: number; epsilon?: number }
  | { name: 'sgd'; learningRate: number }
  | tf.Optimizer;

export interface TrainerOptions {
  /** The model to train, in place. Single input, single output; layers must be built-in or registered in the workers. */
  model: tf.LayersModel;
  /**
   * A Keras loss name, or `{ module, export }`: a function `(yTrue, yPred, tf) => Tensor`
   * exported by a plain-JS module the workers can import, returning per-example losses or their mean.
   */
  loss: LossSpec;
  /**
   * Default 'adam' (learning rate 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7, as tf.train.adam);
   * 'sgd' defaults to learning rate 0.01. These two update the weights in one pass over a flat
   * buffer on the main thread. Any tf.Optimizer works too, stepped through tfjs.
   */
  optimizer?: OptimizerSpec;
  /**
   * Largest number of examples a worker runs through the model at once: a larger shard is
   * split and the parts' gradients added, weighted by size. Two workers side by side slow
   * each other down less on smaller passes (they share the caches and memory bandwidth).
   * Exact for any model without batch statistics; models with BatchNormalization layers
   * always run whole shards. Default 16; 0 runs whole shards.
   */
  microBatch?: number;
}

/** Where the time of the last step went, for tuning and benchmarks. */
export interface StepTiming {
  /** Wall time of the whole call, ms. */
  totalMs: number;
  /** Main-thread work: copying weights and shards, combining gradients, the optimizer, ms. */
  mainMs: number;
  /** Each worker's time on its shard (forward, backward, reading gradients), ms. */
  workerMs: number[];
}

export interface GradientResult {
  /** Mean loss over the batch (with regulariser penalties). */
  loss: number;
  /** Gradient of the loss for each trainable weight, keyed by variable name as `tf.variableGrads` does. */
  grads: tf.NamedTensorMap;
}

const DEFAULT_MICRO_BATCH = 16;

/** Whether a layer of the model (nested models included) normalises by batch statistics. */
export function usesBatchStatistics(model: tf.LayersModel | tf.layers.Layer): boolean {
  const layers = (model as { layers?: tf.layers.Layer[] }).layers ?? [];
  return layers.some((layer) => layer.getClassName() === 'BatchNormalization' || usesBatchStatistics(layer));
}

function makeOptimizer(spec: OptimizerSpec | undefined, size: number): { optimizer: tf.Optimizer } | { flat: FlatOptimizer } {
  if (typeof spec === 'object' && typeof (spec as tf.Optimizer).applyGradients === 'function') {
    return { optimizer: spec as tf.Optimizer };
  }
  const config = typeof spec === 'string' || spec === undefined ? { name: spec ?? 'adam' } : (spec as { name: string });
  if (config.name === 'adam') {
    const c = config as Extract<OptimizerSpec, { name: 'adam' }>;
    const options = { learningRate: c.learningRate ?? 0.001, beta1: c.beta1 ?? 0.9, beta2: c.beta2 ?? 0.999, epsilon: c.epsilon ?? 1e-7 };
    return { flat: new FlatAdam(options, size) };
  }
  if (config.name === 'sgd') {
    return { flat: new FlatSgd((config as { learningRate?: number }).learningRate ?? 0.01) };
  }
  throw new Error(`unknown optimizer '${(config as { name: string }).name}', expected 'adam', 'sgd' or a tf.Optimizer`);
}

function tensorDtype(t: tf.Tensor): TensorData['dtype'] {
  if (t.dtype === 'float32' || t.dtype === 'int32' || t.dtype === 'bool') return t.dtype;
  throw new Error(`cannot send a ${t.dtype} tensor to a pool worker`);
}

/** Splits `n` rows into at most `parts` contiguous shards, sizes differing by at most one. */
export function shardSizes(n: number, parts: number): number[] {
  const k = Math.max(1, Math.min(parts, n));
  const base = Math.floor(n / k);
  return Array.from({ length: k }, (_, i) => base + (i < n % k ? 1 : 0));
}

/**
 * Data-parallel training of a LayersModel on a `WorkerPool` (made by `pool.trainer`). The model's
 * weights go to the workers through one SharedArrayBuffer, rewritten only when they changed (after
 * a step, or after the caller set them); each worker rebuilds the model once from
 * `model.toJSON()`, computes loss and gradients for its shard and writes the gradients to its own
 * shared buffer; the main thread sums them weighted by shard size and steps the optimizer.
 */
export class DataParallelTrainer {
  readonly model: tf.LayersModel;
  /** The caller's tf.Optimizer, when one was given; 'adam' and 'sgd' run on the shared buffer instead. */
  readonly optimizer: tf.Optimizer | undefined;
  private readonly flat: FlatOptimizer | undefined;
  /** Each trainable weight's place in the weight buffer and in the combined gradients. */
  private readonly ranges: FlatRange[];
  private readonly layout: WeightSlot[];
  private readonly trainable: number[];
  private readonly outputs: { index: number; offset: number; length: number }[];
  private readonly weights: Float32Array;
  private readonly topology: string;
  private readonly loss: ReturnType<typeof toWireLoss>;
  private readonly microBatch: number;
  /** One output buffer per worker index. */
  private readonly outputBuffers: SharedArrayBuffer[];
  /** Timing of the last `step` or `gradients` call. */
  lastTiming: StepTiming | undefined;
  private version = 0;
  private lastDataIds: unknown[] | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  /** @internal use `pool.trainer(options)`. */
  constructor(
    private readonly pool: WorkerPool,
    readonly id: number,
    options: TrainerOptions,
  ) {
    this.model = options.model;
    if (this.model.inputs.length !== 1 || this.model.outputs.length !== 1) {
      throw new Error('the pool trainer supports models with one input and one output');
    }
    this.loss = toWireLoss(options.loss);
    const micro = options.microBatch ?? DEFAULT_MICRO_BATCH;
    if (!Number.isInteger(micro) || micro < 0) throw new Error(`trainer: microBatch must be a non-negative integer, got ${micro}`);
    this.microBatch = usesBatchStatistics(options.model) ? 0 : micro;
    let offset = 0;
    this.layout = this.model.weights.map((w) => {
      if (w.dtype !== 'float32') throw new Error(`weight ${w.name} is ${w.dtype}; the pool trainer handles float32`);
      const length = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
      const slot = { offset, length, shape: w.shape as number[] };
      offset += length;
      return slot;
    });
    const index = new Map(this.model.weights.map((w, i) => [w, i]));
    this.trainable = this.model.trainableWeights.map((w) => index.get(w)!);
    this.outputs = outputLayout(this.layout, this.trainable);
    this.ranges = this.trainable.map((w, pos) => ({ weight: this.layout[w]!.offset, grad: this.outputs[pos]!.offset, length: this.layout[w]!.length }));
    const made = makeOptimizer(options.optimizer, this.ranges.reduce((a, r) => a + r.length, 0));
    this.optimizer = 'optimizer' in made ? made.optimizer : undefined;
    this.flat = 'flat' in made ? made.flat : undefined;
    this.weights = new Float32Array(new SharedArrayBuffer(Math.max(4, offset * 4)));
    this.outputBuffers = Array.from({ length: pool.size }, () => new SharedArrayBuffer(Math.max(4, offset * 4)));
    this.topology = this.model.toJSON(null, true) as string;
  }

  /**
   * One optimizer step on the batch (`xs`, `ys`), data-parallel across the pool; resolves with the
   * batch's mean loss before the step. Steps run one after another in call order.
   */
  step(xs: tf.Tensor, ys: tf.Tensor): Promise<number> {
    return this.serial(async () => {
      const started = performance.now();
      const { loss, grads } = await this.compute(xs, ys);
      const applyStart = performance.now();
      if (this.flat) this.applyFlat(grads);
      else {
        const optimizer = this.optimizer!;
        tf.tidy(() => optimizer.applyGradients(this.namedGradients(grads)));
      }
      const timing = this.lastTiming!;
      const end = performance.now();
      timing.mainMs += end - applyStart;
      timing.totalMs = end - started;
      return loss;
    });
  }

  /**
   * The loss and gradients of the batch, computed across the pool as `step` does, without
   * applying them. The caller disposes the returned tensors.
   */
  gradients(xs: tf.Tensor, ys: tf.Tensor): Promise<GradientResult> {
    return this.serial(async () => {
      const { loss, grads } = await this.compute(xs, ys);
      return { loss, grads: this.namedGradients(grads) };
    });
  }

  /** Updates applied by the built-in optimizer ('adam' or 'sgd'); undefined with a tf.Optimizer. */
  get iterations(): number | undefined {
    return this.flat?.iterations;
  }

  /** Frees the workers' copies of the model (a caller's tf.Optimizer stays the caller's). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue.catch(() => {});
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < this.pool.size; i++) {
      const slot = this.pool.currentSlot(i);
      if (slot?.alive && slot.trainers.delete(this.id)) {
        sends.push(this.pool.request(i, { type: 'trainer-dispose', trainerId: this.id }).catch(() => {}));
      }
    }
    await Promise.all(sends);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.disposed) return Promise.reject(new Error('the trainer is disposed'));
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  /**
   * Steps the built-in optimizer on the shared weight buffer, which the workers read next step,
   * and writes the new values into the model's variables.
   */
  private applyFlat(grads: Float32Array): void {
    this.flat!.apply(this.weights, grads, this.ranges);
    for (const w of this.trainable) {
      const slot = this.layout[w]!;
      writeVariable(this.model.weights[w]!.read() as tf.Variable, this.weights.subarray(slot.offset, slot.offset + slot.length));
    }
    // the buffer holds these values already: only a change the caller makes triggers a copy
    this.lastDataIds = this.dataIds();
    this.version++;
  }

  /** The combined gradients as tensors keyed by variable name, as `tf.variableGrads` gives them. */
  private namedGradients(grads: Float32Array): tf.NamedTensorMap {
    const named: tf.NamedTensorMap = {};
    this.trainable.forEach((w, pos) => {
      const slot = this.outputs[pos]!;
      const variable = this.model.weights[w]!.read() as tf.Variable;
      // slice(): some backends keep the array they are given
      named[variable.name] = tf.tensor(grads.slice(slot.offset, slot.offset + slot.length), variable.shape);
    });
    return named;
  }

  private dataIds(): unknown[] {
    return this.model.weights.map((w) => (w.read() as unknown as { dataId: unknown }).dataId);
  }

  /**
   * Copies the model's weights into the shared buffer if any changed since the last copy: a
   * changed weight is a new tensor (set by the caller, or by an optimizer's assign).
   */
  private syncWeights(): void {
    const ids = this.dataIds();
    if (this.lastDataIds && ids.every((id, i) => id === this.lastDataIds![i])) return;
    this.model.weights.forEach((w, i) => {
      readInto(w.read(), this.weights, this.layout[i]!.offset);
    });
    this.lastDataIds = ids;
    this.version++;
  }

  private async compute(xs: tf.Tensor, ys: tf.Tensor): Promise<{ loss: number; grads: Float32Array }> {
    const n = xs.shape[0] ?? 0;
    if (n < 1) throw new Error('empty batch');
    if (ys.shape[0] !== n) throw new Error(`xs has ${n} rows but ys has ${ys.shape[0]}`);
    const started = performance.now();
    this.syncWeights();

    const sizes = shardSizes(n, this.pool.size);
    const xData = xs.dataSync();
    const yData = ys.dataSync();
    const xRow = xs.size / n;
    const yRow = ys.size / n;
    const xDtype = tensorDtype(xs);
    const yDtype = tensorDtype(ys);
    const total = this.outputs.reduce((a, s) => a + s.length, 0);
    const combined = new Float32Array(total);
    let loss = 0;
    let summed = 0;
    let summing = 0;
    // Each worker's gradients are added as soon as it answers, while the slower ones still
    // compute: only the last one's sum is left on the main thread's critical path.
    const accumulate = (r: StepResult, i: number) => {
      const weight = r.size / n;
      loss += weight * r.loss;
      const out = new Float32Array(this.outputBuffers[i]!, 0, total);
      if (summed++ === 0) for (let j = 0; j < total; j++) combined[j] = weight * out[j]!;
      else for (let j = 0; j < total; j++) combined[j]! += weight * out[j]!;
    };
    let start = 0;
    const shards = sizes.map((size, i) => {
      const end = start + size;
      // slice() copies into a fresh buffer that can be transferred
      const xsPart = xData.slice(start * xRow, end * xRow) as TensorData['data'];
      const ysPart = yData.slice(start * yRow, end * yRow) as TensorData['data'];
      start = end;
      const slot = this.pool.slot(i);
      const init = slot.trainers.has(this.id) ? undefined : this.init(i);
      const step = this.pool.request(
        i,
        {
          type: 'trainer-step',
          trainerId: this.id,
          weightsVersion: this.version,
          xs: { data: xsPart, shape: [size, ...xs.shape.slice(1)], dtype: xDtype },
          ys: { data: ysPart, shape: [size, ...ys.shape.slice(1)], dtype: yDtype },
        },
        [xsPart.buffer as ArrayBuffer, ysPart.buffer as ArrayBuffer],
      ) as Promise<StepResult>;
      return Promise.all([init, step]).then(([, result]) => {
        const added = performance.now();
        accumulate(result, i);
        summing += performance.now() - added;
        return result;
      });
    });
    const sent = performance.now();
    const results = await Promise.all(shards);
    const received = performance.now();

    // non-trainable weights updated by the forward pass (batch-norm statistics): size-weighted mean
    if (this.outputs.length > this.trainable.length) {
      tf.tidy(() => {
        for (const slot of this.outputs.slice(this.trainable.length)) {
          const weight = this.model.weights[slot.index]!;
          const value = combined.slice(slot.offset, slot.offset + slot.length);
          const current = weight.read().dataSync();
          if (value.some((v, k) => v !== current[k])) {
            weight.write(tf.tensor(value, weight.shape as number[]));
            // the shared buffer follows, so the built-in optimizers can count it in sync
            this.weights.set(value, this.layout[slot.index]!.offset);
          }
        }
      });
    }
    const end = performance.now();
    this.lastTiming = {
      totalMs: end - started,
      mainMs: sent - started + summing + (end - received),
      workerMs: results.map((r) => r.ms),
    };
    return { loss, grads: combined };
  }

  private init(index: number): Promise<unknown> {
    const slot = this.pool.slot(index);
    slot.trainers.add(this.id);
    return this.pool
      .request(index, {
        type: 'trainer-init',
        trainerId: this.id,
        topology: this.topology,
        loss: this.loss,
        weights: this.weights.buffer as SharedArrayBuffer,
        layout: this.layout,
        trainable: this.trainable,
        output: this.outputBuffers[index]!,
        microBatch: this.microBatch,
      })
      .catch((err: unknown) => {
        slot.trainers.delete(this.id);
        throw err;
      });
  }
}
