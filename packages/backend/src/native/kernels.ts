import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-node's backend these kernels call. */
interface NodeBackend {
  binding: { TF_ATTR_TYPE: number; TF_ATTR_BOOL: number; TF_FLOAT: number; TF_INT32: number; TF_BOOL: number };
  executeSingleOutput(op: string, attrs: unknown[], inputs: tf.TensorInfo[]): tf.Tensor;
}

type Run = (op: string, inputs: tf.TensorInfo[], attrs?: unknown[]) => tf.Tensor;

/** x > 0 ? 1 : alpha, NaN where x is NaN, in four ops whose semantics TensorFlow defines. */
function stepByOps(run: Run, b: NodeBackend['binding'], x: tf.TensorInfo, alpha: number): tf.Tensor {
  const positive = run('Greater', [x, tf.scalar(0)]);
  const step =
    alpha === 0
      ? run('Cast', [positive], [
          { name: 'SrcT', type: b.TF_ATTR_TYPE, value: b.TF_BOOL },
          { name: 'DstT', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
          { name: 'Truncate', type: b.TF_ATTR_BOOL, value: false },
        ])
      : run('SelectV2', [positive, tf.scalar(1), tf.scalar(alpha)]);
  return run('SelectV2', [run('IsNan', [x]), x, step]);
}

/** Values where a ReLU mask can go wrong: NaN, infinities, signed zeros, denormals, tiny numbers. */
const AWKWARD = [Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, -0, 0, 1e-30, -1e-30, 1e-45, -1e-45, 2, -3];

/**
 * Whether sign(relu(x)) is the ReLU mask on this TensorFlow build, NaN and -0 included: it
 * is on the CPU builds checked, but NaN handling in max and sign is the kernels' choice.
 * Checked once on awkward values at sizes that take the vector and scalar code paths.
 */
let signOfReluIsStep: boolean | undefined;
function checkSignOfRelu(run: Run, b: NodeBackend['binding']): boolean {
  return tf.tidy(() =>
    [AWKWARD.length, 100_003].every((n) => {
      const values = Float32Array.from({ length: n }, (_, i) => AWKWARD[(i * 7 + (i >> 3)) % AWKWARD.length]!);
      const x = tf.tensor1d(values);
      const want = stepByOps(run, b, x, 0).dataSync();
      const got = run('Sign', [run('Relu', [x])]).dataSync();
      return got.every((v, i) => Object.is(v, want[i]));
    }),
  );
}

/**
 * `Step` (the ReLU gradient's mask): x > 0 ? 1 : alpha, NaN where x is NaN, as the cpu backend.
 * tfjs-node builds it from seven TensorFlow ops, two of them full-size fills, and the mask runs
 * once per ReLU layer in every backward pass. This takes two ops for the ReLU mask (sign of
 * relu, where the build computes it exactly) or four. (tfjs-node's fails on int32, which this
 * also serves: alpha truncated as the cpu backend's int32 output truncates it.)
 */
function nativeStep(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const alpha = (args.attrs as { alpha: number } | undefined)?.alpha ?? 0;
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return fallback(args);
    const backend = args.backend as unknown as NodeBackend;
    const b = backend.binding;
    const T = { name: 'T', type: b.TF_ATTR_TYPE, value: x.dtype === 'float32' ? b.TF_FLOAT : b.TF_INT32 };
    const run: Run = (op, inputs, attrs = [T]) => backend.executeSingleOutput(op, attrs, inputs);
    if (x.dtype === 'int32') {
      return tf.tidy(() =>
        run('SelectV2', [run('Greater', [x, tf.scalar(0, 'int32')]), tf.scalar(1, 'int32'), tf.scalar(Math.trunc(alpha) || 0, 'int32')]),
      );
    }
    if (alpha === 0) {
      signOfReluIsStep ??= checkSignOfRelu(run, b);
      if (signOfReluIsStep) return tf.tidy(() => run('Sign', [run('Relu', [x])]));
    }
    return tf.tidy(() => stepByOps(run, b, x, alpha));
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
