import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { type ResourceLimits, Worker } from 'node:worker_threads';
import type { BackendName } from '../init.js';
import { moduleHref } from './losses.js';
import type { Reply, Request, RequestBody, SerializedError, WorkerOptions } from './protocol.js';
import { DataParallelTrainer, type TrainerOptions } from './trainer.js';

export interface WorkerPoolOptions {
  /** Number of worker threads. Default: the number of CPU cores. */
  size?: number;
  /**
   * Backend each worker passes to `initBackend`. Default: the main thread's current backend
   * when it has one (cpu, wasm or tensorflow), else whatever `initBackend` picks.
   */
  backend?: BackendName;
  /** The worker entry (built dist/pool-worker.js by default). */
  workerUrl?: string | URL;
  /** Passed to each `Worker`. */
  resourceLimits?: ResourceLimits;
}

export interface MapOptions {
  /**
   * Transfer the ArrayBuffers under each input to the worker instead of copying them; the
   * caller's typed arrays become unusable (detached). Default false.
   */
  transfer?: boolean;
}

/** An error thrown inside a pool worker, with the worker's message and stack. */
export class WorkerTaskError extends Error {
  /** The stack as the worker reported it. */
  readonly workerStack: string | undefined;
  readonly workerIndex: number;

  constructor(error: SerializedError, workerIndex: number, callerStack?: string) {
    super(error.message);
    this.name = error.name || 'Error';
    this.workerIndex = workerIndex;
    this.workerStack = error.stack;
    const caller = callerStack?.split('\n').slice(1).join('\n');
    const worker = error.stack ?? `${this.name}: ${error.message}`;
    this.stack = caller ? `${worker}\n    --- in pool worker ${workerIndex}, called from ---\n${caller}` : worker;
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  callerStack: string | undefined;
}

/** One worker thread and what the main thread knows about it. */
class Slot {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();
  /** Trainer ids whose model this worker has built. */
  readonly trainers = new Set<number>();
  readonly ready: Promise<string>;
  backend = '';
  alive = true;
  private started = false;
  private failure: Error | undefined;

  constructor(
    readonly index: number,
    url: URL,
    options: WorkerOptions,
    resourceLimits: ResourceLimits | undefined,
    private readonly onIdle: () => void,
  ) {
    this.worker = new Worker(url, { workerData: options, resourceLimits });
    this.ready = new Promise<string>((resolve, reject) => {
      this.worker.on('message', (msg: Reply) => {
        if (msg.type === 'ready') {
          this.started = true;
          this.backend = msg.backend;
          this.updateRef();
          resolve(msg.backend);
        } else if (msg.type === 'init-error') {
          const err = new WorkerTaskError(msg.error, index);
          err.message = `pool worker ${index} failed to start: ${err.message}`;
          this.fail(err);
          reject(err);
          void this.worker.terminate();
        } else {
          this.settle(msg);
        }
      });
      this.worker.on('error', (err) => {
        const wrapped = new WorkerTaskError({ name: err.name, message: err.message, stack: err.stack }, index);
        this.fail(wrapped);
        reject(wrapped);
      });
      this.worker.on('exit', (code) => {
        const err = this.failure ?? new Error(`pool worker ${index} exited with code ${code}`);
        this.fail(err);
        reject(err);
      });
    });
    this.ready.catch(() => {}); // observed by createWorkerPool or the next request
  }

  request(message: Request, transfer: readonly ArrayBuffer[] = []): Promise<unknown> {
    if (!this.alive) return Promise.reject(this.failure ?? new Error(`pool worker ${this.index} is gone`));
    const callerStack = new Error().stack;
    return new Promise((resolve, reject) => {
      this.pending.set(message.id, { resolve, reject, callerStack });
      this.updateRef();
      try {
        this.worker.postMessage(message, transfer as ArrayBuffer[]);
      } catch (err) {
        this.pending.delete(message.id);
        this.updateRef();
        reject(new Error(`cannot send to pool worker ${this.index}: ${(err as Error).message}`));
      }
    });
  }

  get busy(): boolean {
    return this.pending.size > 0;
  }

  private settle(msg: Extract<Reply, { type: 'result' | 'error' }>): void {
    const entry = this.pending.get(msg.id);
    if (!entry) return;
    this.pending.delete(msg.id);
    this.updateRef();
    if (msg.type === 'result') entry.resolve(msg.value);
    else entry.reject(new WorkerTaskError(msg.error, this.index, entry.callerStack));
    this.onIdle();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.alive = false;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const entry of pending) entry.reject(err);
    this.onIdle();
  }

  /** An idle worker does not keep the process alive; one with work in flight does. */
  private updateRef(): void {
    if (!this.started || this.pending.size > 0) this.worker.ref();
    else this.worker.unref();
  }
}

interface MapJob {
  module: string;
  name: string;
  inputs: readonly unknown[];
  results: unknown[];
  next: number;
  done: number;
  failed: boolean;
  transfer: boolean;
  resolve: (results: unknown[]) => void;
  reject: (err: Error) => void;
}

function defaultWorkerUrl(): URL {
  const candidates = [
    new URL('./pool-worker.js', import.meta.url), // dist/, next to the bundle
    new URL('../../dist/pool-worker.js', import.meta.url), // src/pool/, running from source
  ];
  const found = candidates.find((url) => url.protocol === 'file:' && existsSync(fileURLToPath(url)));
  if (!found) {
    throw new Error(
      `the pool worker is not built (looked for ${candidates.map((u) => u.pathname).join(', ')}); ` +
        'run `pnpm --filter @ppgn/backend build`',
    );
  }
  return found;
}

function bufferList(value: unknown, found = new Set<ArrayBuffer>(), depth = 0): Set<ArrayBuffer> {
  if (depth > 8 || value === null || typeof value !== 'object') return found;
  if (value instanceof ArrayBuffer) found.add(value);
  else if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer) found.add(value.buffer);
  } else if (Array.isArray(value)) {
    for (const item of value) bufferList(item, found, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) bufferList(item, found, depth + 1);
  }
  return found;
}

/**
 * A data-parallel pool of worker threads, each with its own tfjs and backend. Create one with
 * `createWorkerPool`; `close()` it when done (an idle pool does not keep the process alive).
 */
export class WorkerPool {
  readonly size: number;
  private readonly slots: Slot[];
  private readonly jobs: MapJob[] = [];
  private nextId = 1;
  private nextTrainerId = 1;
  private closed = false;

  /** @internal use `createWorkerPool`. */
  constructor(
    private readonly url: URL,
    private readonly workerOptions: { backend?: BackendName; resourceLimits?: ResourceLimits },
    size: number,
  ) {
    this.size = size;
    this.slots = Array.from({ length: size }, (_, i) => this.spawn(i));
  }

  /** The backend each worker is running, by worker index. */
  get backends(): string[] {
    return this.slots.map((s) => s.backend);
  }

  /** Resolves when every worker has initialised its backend; rejects if one failed. */
  async ready(): Promise<string[]> {
    return Promise.all(this.slots.map((s) => s.ready));
  }

  /**
   * Runs `exportName` of the ES module `module` (a file URL or absolute path to plain JS) on each
   * input, in parallel across workers, and resolves with the outputs in input order. The function
   * is called as `fn(input, { tf, backend, workerIndex })` and may be async; inputs and outputs
   * are plain data and typed arrays (output buffers are transferred back, not copied). The first
   * task to throw rejects the whole map with a `WorkerTaskError` carrying the worker's message
   * and stack.
   */
  map<I, O>(module: string | URL, exportName: string, inputs: readonly I[], options: MapOptions = {}): Promise<O[]> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'));
    const href = moduleHref(module);
    if (inputs.length === 0) return Promise.resolve([]);
    if (inputs.some((input) => input instanceof tf.Tensor)) {
      return Promise.reject(new Error('pool.map inputs must be plain data: pass `tensor.dataSync()` and the shape, not a tf.Tensor'));
    }
    return new Promise<O[]>((resolve, reject) => {
      this.jobs.push({
        module: href,
        name: exportName,
        inputs,
        results: new Array(inputs.length),
        next: 0,
        done: 0,
        failed: false,
        transfer: options.transfer ?? false,
        resolve: resolve as (results: unknown[]) => void,
        reject,
      });
      this.pump();
    });
  }

  /**
   * A data-parallel trainer for `model`: each `step(xs, ys)` shards the batch across the workers,
   * which compute the loss and gradients of their shard on a copy of the model, and applies the
   * size-weighted sum of the gradients with the optimizer on `model` itself.
   */
  trainer(options: TrainerOptions): DataParallelTrainer {
    if (this.closed) throw new Error('the worker pool is closed');
    return new DataParallelTrainer(this, this.nextTrainerId++, options);
  }

  /** Terminates the workers; pending work rejects. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error('the worker pool is closed');
    for (const job of this.jobs.splice(0)) if (!job.failed) job.reject(err);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  /** @internal Sends a request to worker `index`, starting a fresh worker if the old one died. */
  request(index: number, message: RequestBody, transfer: readonly ArrayBuffer[] = []): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'));
    const slot = this.slot(index);
    return slot.request({ ...message, id: this.nextId++ } as Request, transfer);
  }

  /** @internal The worker at `index` as it is now, alive or not; never starts one. */
  currentSlot(index: number): Slot | undefined {
    return this.slots[index];
  }

  /** @internal The live worker at `index` (respawned if it died). */
  slot(index: number): Slot {
    let slot = this.slots[index];
    if (!slot) throw new Error(`no worker ${index} in a pool of ${this.size}`);
    if (!slot.alive && !this.closed) {
      slot = this.spawn(index);
      this.slots[index] = slot;
    }
    return slot;
  }

  private spawn(index: number): Slot {
    return new Slot(
      index,
      this.url,
      { backend: this.workerOptions.backend, index },
      this.workerOptions.resourceLimits,
      () => this.pump(),
    );
  }

  /** Hands queued map items to idle workers, first job first. */
  private pump(): void {
    if (this.closed) return;
    for (let i = 0; i < this.slots.length; i++) {
      const job = this.jobs.find((j) => !j.failed && j.next < j.inputs.length);
      if (!job) return;
      const slot = this.slots[i]!;
      if (slot.alive && slot.busy) continue;
      const item = job.next++;
      const input = job.inputs[item];
      const transfer = job.transfer ? [...bufferList(input)] : [];
      this.request(i, { type: 'map', module: job.module, export: job.name, input }, transfer).then(
        (value) => {
          job.results[item] = value;
          job.done++;
          if (job.done === job.inputs.length) {
            this.jobs.splice(this.jobs.indexOf(job), 1);
            job.resolve(job.results);
          }
        },
        (err: Error) => {
          if (job.failed) return;
          job.failed = true;
          const at = this.jobs.indexOf(job);
          if (at >= 0) this.jobs.splice(at, 1);
          job.reject(err);
        },
      );
    }
  }
}

/**
 * Starts `size` worker threads, each importing tfjs and calling `initBackend({ backend })`, and
 * resolves once all are ready (rejecting, with every worker stopped, if one fails to start).
 */
export async function createWorkerPool(options: WorkerPoolOptions = {}): Promise<WorkerPool> {
  const size = options.size ?? (os.availableParallelism?.() || os.cpus().length || 1);
  if (!Number.isInteger(size) || size < 1) throw new Error(`pool size must be a positive integer, got ${size}`);
  const current = tf.getBackend() as string | null;
  const backend =
    options.backend ?? (current === 'cpu' || current === 'wasm' || current === 'tensorflow' ? current : undefined);
  const url = options.workerUrl ? new URL(moduleHref(options.workerUrl)) : defaultWorkerUrl();
  const pool = new WorkerPool(url, { backend, resourceLimits: options.resourceLimits }, size);
  try {
    await pool.ready();
  } catch (err) {
    await pool.close();
    throw err;
  }
  return pool;
}
