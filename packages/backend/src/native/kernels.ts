import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-node's backend these kernels call. */
interface NodeBackend {
  binding: { TF_ATTR_TYPE: number; TF_ATTR_BOOL: number; TF_FLOAT: number; TF_INT32: number; TF_BOOL: number };
  executeSingleOutput(op: string, attrs: unknown[], inputs: tf.TensorInfo[]): tf.Tensor;
}

/**
 * `Step` (the ReLU gradient's mask): x > 0 ? 1 : alpha, NaN where x is NaN, as the cpu backend.
 * tfjs-node builds it from seven TensorFlow ops, two of them full-size fills, and the mask runs
 * once per ReLU layer in every backward pass; this takes four. (tfjs-node's fails on int32,
 * which this also serves: alpha truncated as the cpu backend's int32 output truncates it.)
 */
function nativeStep(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const alpha = (args.attrs as { alpha: number } | undefined)?.alpha ?? 0;
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return fallback(args);
    const backend = args.backend as unknown as NodeBackend;
    const b = backend.binding;
    const dtype = x.dtype;
    const T = { name: 'T', type: b.TF_ATTR_TYPE, value: dtype === 'float32' ? b.TF_FLOAT : b.TF_INT32 };
    const run = (op: string, inputs: tf.TensorInfo[], attrs: unknown[] = [T]) => backend.executeSingleOutput(op, attrs, inputs);
    return tf.tidy(() => {
      const positive = run('Greater', [x, tf.scalar(0, dtype)]);
      if (dtype === 'int32') return run('SelectV2', [positive, tf.scalar(1, 'int32'), tf.scalar(Math.trunc(alpha) || 0, 'int32')]);
      const step =
        alpha === 0
          ? run('Cast', [positive], [
              { name: 'SrcT', type: b.TF_ATTR_TYPE, value: b.TF_BOOL },
              { name: 'DstT', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
              { name: 'Truncate', type: b.TF_ATTR_BOOL, value: false },
            ])
          : run('SelectV2', [positive, tf.scalar(1), tf.scalar(alpha)]);
      return run('SelectV2', [run('IsNan', [x]), x, step]);
    });
  };
}

let registered = false;

/** Replaces tfjs-node kernels for which a shorter TensorFlow op sequence exists (once per process). */
export function registerNativeKernels(): void {
  if (registered) return;
  const step = tf.getKernel('Step', 'tensorflow');
  if (!step) return;
  registered = true;
  tf.unregisterKernel('Step', 'tensorflow');
  tf.registerKernel({ kernelName: 'Step', backendName: 'tensorflow', kernelFunc: nativeStep(step.kernelFunc) });
}
