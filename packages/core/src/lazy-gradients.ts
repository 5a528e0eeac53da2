import * as tf from '@tensorflow/tfjs-core';

type FusedConv2d = typeof tf.fused.conv2d;
type FusedMatMul = typeof tf.fused.matMul;
type FusedOps = { conv2d: FusedConv2d; matMul: FusedMatMul };

let depth = 0;
let original: FusedOps | null = null;

/** Whether this tfjs lets its fused ops be swapped (an ES module namespace does not). */
function swappable(fused: object): boolean {
  return ['conv2d', 'matMul'].every((name) => Object.getOwnPropertyDescriptor(fused, name)?.writable === true);
}

function inGradient(): boolean {
  return tf.engine().state.gradientDepth > 0;
}

/**
 * Runs `fn` so that conv and dense layers, inside any gradient it takes, compute only the
 * gradients that are asked for.
 *
 * tfjs-layers applies every conv and dense layer through `tf.fused.conv2d` / `tf.fused.matMul`.
 * With a linear activation (a conv followed by its own LeakyReLU layer, a logits layer) those
 * stay fused inside a gradient, and their custom gradient computes the weight and bias
 * gradients together with the input gradient, every time. A sampler asks for the gradient of
 * the code alone, 200 steps a chain, so all that weight-gradient work is thrown away. Here
 * those calls go through the plain ops instead (conv2d or matMul, then add the bias), whose
 * gradients are computed only for inputs on the path to what is differentiated. Values and
 * input gradients are the same; outside gradients the fused ops run as before.
 *
 * Where this tfjs's `fused` namespace cannot be changed (ES module builds), `fn` runs as is.
 * Synchronous `fn` only: the swap must not outlive it.
 */
export function withLazyLayerGradients<T>(fn: () => T): T {
  const fused = tf.fused as unknown as FusedOps;
  if (depth === 0) {
    if (!swappable(fused)) return fn();
    original = { conv2d: fused.conv2d, matMul: fused.matMul };
    const { conv2d, matMul } = original;
    fused.conv2d = ((args: Parameters<FusedConv2d>[0]) => {
      const linear = (args.activation ?? 'linear') === 'linear';
      if (!inGradient() || !linear || args.dataFormat === 'NCHW') return conv2d(args);
      const y = tf.conv2d(args.x, args.filter, args.strides, args.pad, args.dataFormat, args.dilations, args.dimRoundingMode);
      return args.bias == null ? y : tf.add(y, args.bias);
    }) as FusedConv2d;
    fused.matMul = ((args: Parameters<FusedMatMul>[0]) => {
      const linear = (args.activation ?? 'linear') === 'linear';
      if (!inGradient() || !linear) return matMul(args);
      const y = tf.matMul(args.a, args.b, args.transposeA, args.transposeB);
      return args.bias == null ? y : tf.add(y, args.bias);
    }) as FusedMatMul;
  }
  depth++;
  try {
    return fn();
  } finally {
    depth--;
    if (depth === 0 && original) {
      fused.conv2d = original.conv2d;
      fused.matMul = original.matMul;
      original = null;
    }
  }
}
