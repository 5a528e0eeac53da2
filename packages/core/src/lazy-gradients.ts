import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

type FusedConv2d = typeof tf.fused.conv2d;
type FusedMatMul = typeof tf.fused.matMul;
type FusedOps = { conv2d: FusedConv2d; matMul: FusedMatMul };

let depth = 0;

/** Whether this tfjs lets its fused ops be swapped (an ES module namespace does not). */
function swappable(fused: object): boolean {
  return ['conv2d', 'matMul'].every((name) => Object.getOwnPropertyDescriptor(fused, name)?.writable === true);
}

function inGradient(): boolean {
  return tf.engine().state.gradientDepth > 0;
}

/** How the swap is made: tfjs's `fused` ops (Node), or the layers' `call` (frozen ES module namespaces). */
export type LazyRoute = 'fused-ops' | 'layer-calls';

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
 * The swap replaces tfjs's `fused` ops where its namespace can be changed (Node); where it
 * cannot (ES module bundles, browsers), the `call` of tfjs-layers' conv and dense layers.
 * Synchronous `fn` only: the swap must not outlive it.
 */
export function withLazyLayerGradients<T>(fn: () => T): T {
  return withLazyLayerGradientsVia(swappable(tf.fused) ? 'fused-ops' : 'layer-calls', fn);
}

/** Undoes the swap the outermost call made. */
let restore: (() => void) | null = null;

/** `withLazyLayerGradients` by the given route (both are tested in Node). */
export function withLazyLayerGradientsVia<T>(route: LazyRoute, fn: () => T): T {
  if (depth === 0) restore = route === 'fused-ops' ? swapFusedOps() : swapLayerCalls();
  depth++;
  try {
    return fn();
  } finally {
    depth--;
    if (depth === 0 && restore) {
      restore();
      restore = null;
    }
  }
}

function swapFusedOps(): () => void {
  const fused = tf.fused as unknown as FusedOps;
  const { conv2d, matMul } = fused;
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
  return () => {
    fused.conv2d = conv2d;
    fused.matMul = matMul;
  };
}

type Inputs = tf.Tensor | tf.Tensor[];
type Call = (this: unknown, inputs: Inputs, kwargs: object) => Inputs;
interface Weight {
  read(): tf.Tensor;
}
interface WeightedLayer {
  activation?: { apply(x: tf.Tensor): tf.Tensor } | null;
  kernel: Weight;
  bias?: Weight | null;
}
interface ConvLayer extends WeightedLayer {
  rank: number;
  dataFormat: string;
  padding: string;
  strides: number[];
  dilationRate: number[];
}
interface DenseLayer extends WeightedLayer {
  invokeCallHook(inputs: Inputs, kwargs: object): void;
}

/** The prototype up `layer`'s chain that defines `call`. */
function callOwner(layer: object): { call: Call } {
  let proto = Object.getPrototypeOf(layer);
  while (proto && !Object.hasOwn(proto, 'call')) proto = Object.getPrototypeOf(proto);
  if (!proto) throw new Error('withLazyLayerGradients: this tfjs-layers has no layer call to route');
  return proto;
}

let owners: { conv: { call: Call }; dense: { call: Call } } | undefined;

/** y plus the layer's bias, through the layer's activation. */
function finish(layer: WeightedLayer, y: tf.Tensor): tf.Tensor {
  const biased = layer.bias ? tf.add(y, layer.bias.read()) : y;
  return layer.activation ? layer.activation.apply(biased) : biased;
}

function oneTensor(inputs: Inputs): tf.Tensor | undefined {
  return Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs;
}

/**
 * Routes tfjs-layers' 2-D conv (every Conv's `call`) and dense layers through the plain ops
 * inside gradients: conv or matMul, the bias, then the layer's activation. That is what
 * tfjs computes there anyway, except that a linear conv or dense (also the one before an
 * activation tfjs cannot fuse, such as sigmoid) stays fused, weight gradients included.
 */
function swapLayerCalls(): () => void {
  owners ??= { conv: callOwner(tfl.layers.conv2d({ filters: 1, kernelSize: 1 })), dense: callOwner(tfl.layers.dense({ units: 1 })) };
  const { conv, dense } = owners;
  const convCall = conv.call;
  const denseCall = dense.call;
  conv.call = function (this: ConvLayer, inputs, kwargs) {
    const x = oneTensor(inputs);
    if (!inGradient() || !x || this.rank !== 2 || this.dataFormat !== 'channelsLast' || this.padding === 'causal') {
      return convCall.call(this, inputs, kwargs);
    }
    return tf.tidy(() => {
      const pad = this.padding === 'same' ? 'same' : 'valid';
      return finish(this, tf.conv2d(x as tf.Tensor4D, this.kernel.read() as tf.Tensor4D, this.strides as [number, number], pad, 'NHWC', this.dilationRate as [number, number]));
    });
  } as Call;
  dense.call = function (this: DenseLayer, inputs, kwargs) {
    const x = oneTensor(inputs);
    if (!inGradient() || !x || x.rank !== 2) return denseCall.call(this, inputs, kwargs);
    return tf.tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      return finish(this, tf.matMul(x, this.kernel.read()));
    });
  } as Call;
  return () => {
    conv.call = convCall;
    dense.call = denseCall;
  };
}
