/**
 * Moving weights and gradients between tensors and the trainer's shared buffers with as few
 * copies as each backend allows: on wasm straight from and into the wasm heap.
 */
import * as tf from '@tensorflow/tfjs';

interface HeapBackend {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

/** The wasm backend, for float32 tensors (one made on another backend moves there when read). */
function heapBackend(t: tf.Tensor): HeapBackend | undefined {
  if (t.dtype !== 'float32' || tf.getBackend() !== 'wasm') return undefined;
  const backend = tf.backend() as unknown as Partial<HeapBackend>;
  return typeof backend.typedArrayFromHeap === 'function' ? (backend as HeapBackend) : undefined;
}

/** Copies a float32 tensor's values into `out` at `offset`. */
export function readInto(t: tf.Tensor, out: Float32Array, offset: number): void {
  const backend = heapBackend(t);
  // a fresh view each time: a heap that grew since detaches older ones
  out.set(backend ? backend.typedArrayFromHeap(t) : (t.dataSync() as Float32Array), offset);
}

/**
 * Sets a float32 variable to a copy of `values`. Always a new buffer, never a write into the old
 * one: wasm's conv and matmul kernels keep packed copies of a filter keyed by its buffer, which
 * an in-place write would leave stale.
 */
export function writeVariable(variable: tf.Variable, values: Float32Array): void {
  if (values.length !== variable.size) {
    throw new Error(`writeVariable: ${values.length} values for ${variable.name} of size ${variable.size}`);
  }
  // wasm copies the values into its heap as the tensor is made; other backends may keep the array
  const copy = heapBackend(variable) ? values : values.slice();
  tf.tidy(() => variable.assign(tf.tensor(copy, variable.shape, 'float32')));
}
