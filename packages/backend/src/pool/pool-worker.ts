/**
 * Entry of a pool worker thread (built to dist/pool-worker.js). Each worker loads its own
 * tfjs, calls `initBackend`, then serves requests one at a time, in arrival order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../init.js';
import { readInto, writeVariable } from './heap.js';
import { batchLoss, importExport, resolveLoss, type LossFunction } from './losses.js';
import {
  outputLayout,
  type Reply,
  type Request,
  type SerializedError,
  type StepResult,
  type TaskContext,
  type TensorData,
  type WeightSlot,
  type WorkerOptions,
} from './protocol.js';

interface TrainerState {
  model: tf.LayersModel;
  loss: LossFunction;
  weights: Float32Array;
  layout: WeightSlot[];
  trainable: tf.Variable[];
  output: Float32Array;
  outputs: { index: number; offset: number; length: number }[];
  version: number;
  microBatch: number;
}

const port = parentPort;
if (!port) throw new Error('pool-worker must run in a worker thread');
const options = workerData as WorkerOptions;
const trainers = new Map<number, TrainerState>();
const tasks = new Map<string, (input: unknown, context: TaskContext) => unknown>();
let context: TaskContext;

function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: 'Error', message: String(err) };
}

/** The ArrayBuffers under a result, to transfer rather than copy. */
function transferables(value: unknown, found = new Set<ArrayBuffer>(), depth = 0): ArrayBuffer[] {
  if (depth > 8 || value === null || typeof value !== 'object') return [...found];
  if (value instanceof ArrayBuffer) found.add(value);
  else if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer) found.add(value.buffer);
  } else if (Array.isArray(value)) {
    for (const item of value) transferables(item, found, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) transferables(item, found, depth + 1);
  }
  return [...found];
}

function reply(message: Reply): void {
  const transfer = message.type === 'result' ? transferables(message.value) : [];
  try {
    port!.postMessage(message, transfer);
  } catch (err) {
    if (message.type !== 'result') throw err;
    try {
      port!.postMessage(message); // a buffer that cannot move (e.g. wasm memory) is copied
    } catch (cloneErr) {
      port!.postMessage({
        type: 'error',
        id: message.id,
        error: serializeError(new Error(`the task's result cannot be sent between threads: ${(cloneErr as Error).message}`)),
      } satisfies Reply);
    }
  }
}

function toTensor(t: TensorData): tf.Tensor {
  return tf.tensor(t.data, t.shape, t.dtype);
}

async function runTask(module: string, name: string, input: unknown): Promise<unknown> {
  const key = `${module}#${name}`;
  let fn = tasks.get(key);
  if (!fn) {
    fn = await importExport<(input: unknown, context: TaskContext) => unknown>({ module, export: name });
    tasks.set(key, fn);
  }
  return fn(input, context);
}

async function initTrainer(req: Extract<Request, { type: 'trainer-init' }>): Promise<null> {
  const model = (await tf.models.modelFromJSON(JSON.parse(req.topology))) as tf.LayersModel;
  if (model.weights.length !== req.layout.length) {
    throw new Error(`rebuilt model has ${model.weights.length} weights, expected ${req.layout.length}`);
  }
  model.weights.forEach((w, i) => {
    const want = req.layout[i]!.shape;
    if (w.shape.join() !== want.join()) {
      throw new Error(`rebuilt model weight ${i} (${w.name}) has shape [${w.shape}], expected [${want}]`);
    }
  });
  const trainable = req.trainable.map((i) => model.weights[i]!.read() as tf.Variable);
  trainers.set(req.trainerId, {
    model,
    loss: await resolveLoss(req.loss),
    weights: new Float32Array(req.weights),
    layout: req.layout,
    trainable,
    output: new Float32Array(req.output),
    outputs: outputLayout(req.layout, req.trainable),
    version: -1,
    microBatch: req.microBatch,
  });
  return null;
}

/**
 * The mean loss of the shard and its gradients, in passes of at most `microBatch` examples
 * whose gradients are added weighted by their share of the shard (the mean over the shard).
 */
function shardGradients(state: TrainerState, xs: tf.Tensor, ys: tf.Tensor): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const n = xs.shape[0] ?? 0;
  const micro = state.microBatch;
  if (micro === 0 || n <= micro) return tf.variableGrads(() => batchLoss(state.model, state.loss, xs, ys), state.trainable);
  let value: tf.Scalar = tf.scalar(0);
  const grads: tf.NamedTensorMap = {};
  for (let start = 0; start < n; start += micro) {
    const size = Math.min(micro, n - start);
    const share = size / n;
    const part = tf.tidy(() => {
      const x = tf.slice(xs, start, size);
      const y = tf.slice(ys, start, size);
      return tf.variableGrads(() => tf.mul(batchLoss(state.model, state.loss, x, y), share) as tf.Scalar, state.trainable);
    });
    const sum = tf.add(value, part.value) as tf.Scalar;
    tf.dispose([value, part.value]);
    value = sum;
    for (const [name, g] of Object.entries(part.grads)) {
      const previous = grads[name];
      if (previous) {
        grads[name] = tf.add(previous, g);
        tf.dispose([previous, g]);
      } else grads[name] = g;
    }
  }
  return { value, grads };
}

function trainerStep(req: Extract<Request, { type: 'trainer-step' }>): StepResult {
  const started = performance.now();
  const state = trainers.get(req.trainerId);
  if (!state) throw new Error(`trainer ${req.trainerId} is not initialised in this worker`);
  if (state.version !== req.weightsVersion) {
    state.model.weights.forEach((w, i) => {
      const s = state.layout[i]!;
      writeVariable(w.read() as tf.Variable, state.weights.subarray(s.offset, s.offset + s.length));
    });
    state.version = req.weightsVersion;
  }
  const xs = toTensor(req.xs);
  const ys = toTensor(req.ys);
  let result: { value: tf.Scalar; grads: tf.NamedTensorMap } | undefined;
  try {
    result = shardGradients(state, xs, ys);
    const { value, grads } = result;
    const weights = state.model.weights;
    state.outputs.forEach((slot, pos) => {
      const tensor = pos < state.trainable.length ? grads[state.trainable[pos]!.name] : weights[slot.index]!.read();
      // a weight the loss does not reach has no gradient: it gets zero, as in model.fit
      if (tensor) readInto(tensor, state.output, slot.offset);
      else state.output.fill(0, slot.offset, slot.offset + slot.length);
    });
    const loss = value.dataSync()[0] ?? Number.NaN;
    return { loss, size: req.xs.shape[0] ?? 0, ms: performance.now() - started };
  } finally {
    tf.dispose([xs, ys]);
    if (result) tf.dispose([result.value, result.grads]);
  }
}

async function handle(req: Request): Promise<unknown> {
  switch (req.type) {
    case 'map':
      return runTask(req.module, req.export, req.input);
    case 'trainer-init':
      return initTrainer(req);
    case 'trainer-step':
      return trainerStep(req);
    case 'trainer-dispose': {
      trainers.get(req.trainerId)?.model.dispose();
      trainers.delete(req.trainerId);
      return null;
    }
  }
}

async function main(): Promise<void> {
  let backend: string;
  try {
    // The pool's workers are the parallelism: each runs wasm on one thread.
    backend = await initBackend({ backend: options.backend, verbose: false, wasmThreads: 1 });
  } catch (err) {
    reply({ type: 'init-error', error: serializeError(err) });
    return;
  }
  context = { tf, backend, workerIndex: options.index };
  let queue: Promise<void> = Promise.resolve();
  port!.on('message', (req: Request) => {
    queue = queue.then(async () => {
      try {
        reply({ type: 'result', id: req.id, value: await handle(req) });
      } catch (err) {
        reply({ type: 'error', id: req.id, error: serializeError(err) });
      }
    });
  });
  reply({ type: 'ready', backend });
}

void main();
