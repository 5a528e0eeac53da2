import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-node's backend these kernels call. */
interface NodeBackend {
  binding: { TF_ATTR_TYPE: number; TF_ATTR_BOOL: number; TF_ATTR_FLOAT: number; TF_FLOAT: number; TF_INT32: number; TF_BOOL: number };
  executeSingleOutput(op: string, attrs: unknown[], inputs: tf.TensorInfo[]): tf.Tensor;
}

type Run = (op: string, inputs: tf.TensorInfo[], attrs?: unknown[]) => tf.Tensor;

/** The `T` type attribute of `dtype`, and a runner of TensorFlow ops with it (other attrs replace it). */
function runner(backend: NodeBackend, dtype: 'float32' | 'int32' = 'float32'): { run: Run; T: object } {
  const b = backend.binding;
  const T = { name: 'T', type: b.TF_ATTR_TYPE, value: dtype === 'float32' ? b.TF_FLOAT : b.TF_INT32 };
  return { run: (op, inputs, attrs = [T]) => backend.executeSingleOutput(op, attrs, inputs), T };
}

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
    const { run } = runner(backend, x.dtype);
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

/**
 * Activation gradients as TensorFlow's fused gradient ops, where tfjs composes each from two to
 * four ops (and scalar tensors) per layer per backward pass. Each equals tfjs's formula on the
 * cpu backend, NaN included; sigmoid and tanh up to the order of two multiplications.
 */
const GRADIENT_KERNELS: tf.KernelConfig[] = [
  {
    // dy * step(x) from the layer's output y = relu(x): its sign is the mask (NaN where x is NaN).
    // x is an input too, unused: a saved output is a copy off the tape, and through x a
    // second-order gradient still finds its way (to zero, as tfjs's formula gives)
    kernelName: 'PpgnReluGrad',
    backendName: 'tensorflow',
    kernelFunc: ({ inputs, backend }) => {
      const { dy, y } = inputs as { dy: tf.TensorInfo; y: tf.TensorInfo };
      const native = backend as unknown as NodeBackend;
      const { run } = runner(native);
      signOfReluIsStep ??= checkSignOfRelu(run, native.binding);
      return tf.tidy(() => run('Mul', [dy, signOfReluIsStep ? run('Sign', [y]) : stepByOps(run, native.binding, y, 0)]));
    },
  },
  {
    // where(x > 0, dy, alpha * dy)
    kernelName: 'PpgnLeakyReluGrad',
    backendName: 'tensorflow',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
      const native = backend as unknown as NodeBackend;
      const { run, T } = runner(native);
      const alpha = { name: 'alpha', type: native.binding.TF_ATTR_FLOAT, value: (attrs as { alpha: number }).alpha };
      return run('LeakyReluGrad', [dy, x], [T, alpha]);
    },
  },
  {
    // dy * y * (1 - y)
    kernelName: 'PpgnSigmoidGrad',
    backendName: 'tensorflow',
    kernelFunc: ({ inputs, backend }) => runner(backend as unknown as NodeBackend).run('SigmoidGrad', [inputs.y!, inputs.dy!]),
  },
  {
    // dy * (1 - y^2)
    kernelName: 'PpgnTanhGrad',
    backendName: 'tensorflow',
    kernelFunc: ({ inputs, backend }) => runner(backend as unknown as NodeBackend).run('TanhGrad', [inputs.y!, inputs.dy!]),
  },
];

/**
 * Gradients of the gradient kernels, for second-order gradients through an activation. They flow
 * through x: a saved output y is a copy off the tape. (tfjs's own sigmoid, tanh and leakyRelu
 * gradients have no second order on the cpu backend; these do.)
 */
const GRADIENT_KERNEL_GRADIENTS: tf.GradConfig[] = [
  {
    kernelName: 'PpgnReluGrad',
    inputsToSave: ['x'],
    gradFunc: (g, [x]) => ({ dy: () => tf.mul(g as tf.Tensor, tf.step(x!)), x: () => tf.zerosLike(x!), y: () => tf.zerosLike(x!) }),
  },
  {
    kernelName: 'PpgnLeakyReluGrad',
    inputsToSave: ['x'],
    gradFunc: (g, [x], attrs) => {
      const alpha = (attrs as { alpha: number }).alpha;
      return { dy: () => tf.where(tf.greater(x!, 0), g as tf.Tensor, tf.mul(g as tf.Tensor, alpha)), x: () => tf.zerosLike(x!) };
    },
  },
  {
    // d/dx of dy * y(1 - y) is dy * y(1 - y)(1 - 2y)
    kernelName: 'PpgnSigmoidGrad',
    inputsToSave: ['dy', 'y'],
    gradFunc: (g, [dy, y]) => {
      const slope = () => tf.mul(y!, tf.sub(1, y!));
      return {
        dy: () => tf.mul(g as tf.Tensor, slope()),
        x: () => tf.mul(tf.mul(g as tf.Tensor, dy!), tf.mul(slope(), tf.sub(1, tf.mul(y!, 2)))),
        y: () => tf.zerosLike(y!),
      };
    },
  },
  {
    // d/dx of dy * (1 - y^2) is dy * (1 - y^2)(-2y)
    kernelName: 'PpgnTanhGrad',
    inputsToSave: ['dy', 'y'],
    gradFunc: (g, [dy, y]) => {
      const slope = () => tf.sub(1, tf.square(y!));
      return {
        dy: () => tf.mul(g as tf.Tensor, slope()),
        x: () => tf.mul(tf.mul(g as tf.Tensor, dy!), tf.mul(slope(), tf.mul(y!, -2))),
        y: () => tf.zerosLike(y!),
      };
    },
  },
];

/**
 * Makes `kernelName`'s gradient run `nativeKernel` on the tensorflow backend (float32), and
 * tfjs's own gradient everywhere else. The kernel gets `dy` and the layer's input `x`, plus its
 * output `y` with `withOutput` (kept for it).
 */
function routeGradient(kernelName: string, nativeKernel: string, withOutput = false): void {
  const original = tf.getGradient(kernelName);
  if (!original) return;
  const savedInputs = original.inputsToSave?.length ?? 0;
  tf.registerGradient({
    ...original,
    inputsToSave: ['x'],
    outputsToSave: withOutput ? [true] : original.outputsToSave,
    gradFunc: (dy, saved, attrs) => {
      const dyTensor = dy as tf.Tensor;
      if (tf.getBackend() !== 'tensorflow' || dyTensor.dtype !== 'float32' || saved[0]?.dtype !== 'float32') {
        // tfjs's gradient gets what it saves: its inputs, then (sigmoid, tanh) the output
        return original.gradFunc(dy, [...saved.slice(0, savedInputs), ...(original.outputsToSave ? saved.slice(-1) : [])], attrs);
      }
      const inputs: tf.NamedTensorMap = { dy: dyTensor, x: saved[0]! };
      if (withOutput || original.outputsToSave) inputs.y = saved[saved.length - 1]!;
      return { x: () => tf.engine().runKernel(nativeKernel, inputs, attrs) as tf.Tensor };
    },
  });
}

let registered = false;

/**
 * Replaces tfjs-node kernels for which a shorter TensorFlow op sequence exists, and routes the
 * activation gradients to TensorFlow's fused gradient ops on the tensorflow backend (once per
 * process).
 */
export function registerNativeKernels(): void {
  if (registered) return;
  const step = tf.getKernel('Step', 'tensorflow');
  if (!step) return;
  registered = true;
  tf.unregisterKernel('Step', 'tensorflow');
  tf.registerKernel({ kernelName: 'Step', backendName: 'tensorflow', kernelFunc: nativeStep(step.kernelFunc) });
  for (const config of GRADIENT_KERNELS) tf.registerKernel(config);
  for (const config of GRADIENT_KERNEL_GRADIENTS) tf.registerGradient(config);
  routeGradient('Relu', 'PpgnReluGrad', true);
  routeGradient('LeakyRelu', 'PpgnLeakyReluGrad');
  routeGradient('Sigmoid', 'PpgnSigmoidGrad');
  routeGradient('Tanh', 'PpgnTanhGrad');
}
