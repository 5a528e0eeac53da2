import type { Condition, ImageShape } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor1D, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { InputAdapter } from './input-adapter.js';
import { logitsModel, type LogitsSource } from './logits.js';
import {
  type ClassifierModel,
  imageInput,
  isGraphModel,
  isLayersModel,
  runModel,
} from './model-input.js';

/**
 * What the condition maximises for target class c, with logits z and p = softmax(z):
 * - `log-softmax` (default): log p_c = z_c - log sum_k exp z_k, the exact log-probability;
 *   gradient dz_c - sum_k p_k dz_k.
 * - `logit`: the raw logit z_c (DGN-AM's activation maximisation); gradient dz_c.
 * - `diagonal`: the official PPGN class gradient, (1 - p_c) dz_c: only the diagonal term of
 *   d log p_c / dz is kept (the softmax terms of the other classes are dropped). Implemented
 *   as a custom-gradient op whose value is log p_c (so values stay comparable with
 *   `log-softmax`) and whose gradient with respect to the logits is exactly (1 - p_c) e_c.
 */
export type ClassObjective = 'log-softmax' | 'logit' | 'diagonal';

/** One class of a weighted class set. */
export interface WeightedClass {
  /** Class index, or a class name when `classNames` is given. */
  index: number | string;
  /** Weight of this class's objective. Default 1; negative steers away from the class. */
  weight?: number;
}

/** Arguments of `classCondition`. */
export interface ClassConditionArgs {
  /** A LayersModel, a GraphModel, or a differentiable `(x) => scores` function. */
  model: ClassifierModel;
  /** The target class (index, or name when `classNames` is given). Give this or `classes`. */
  classIndex?: number | string;
  /** A weighted class set: log p = sum_i w_i objective(c_i). Give this or `classIndex`. */
  classes?: WeightedClass[];
  /**
   * What the model outputs. Default: detected for a LayersModel (a final softmax means
   * 'probabilities', and the logits before it are read instead), 'logits' otherwise.
   * 'probabilities' on a model whose logits cannot be reached is supported only by the
   * `log-softmax` objective (as log p, exact while p_c does not underflow).
   */
  output?: 'logits' | 'probabilities';
  /** Default `log-softmax`; see `ClassObjective`. */
  objective?: ClassObjective;
  /** Adapter from the generator's images to the model's input. */
  input?: InputAdapter;
  /**
   * The image shape the condition accepts when there is no adapter. Checked against the
   * model; needed for vector-input models and functions.
   */
  imageShape?: ImageShape;
  /** Names of the classes, for ids, descriptions, errors, and lookup by name. */
  classNames?: string[];
  /** GraphModel only: the node holding the logits (e.g. the op before its Softmax). */
  logitsNode?: string;
}

const WHO = 'classCondition';
/** Floor for probabilities before their log, when only probabilities are available. */
const TINY = 1e-30;

function describeModel(model: ClassifierModel): string {
  if (typeof model === 'function') return 'a function';
  if (isLayersModel(model)) return `LayersModel '${model.name}'`;
  return 'a GraphModel';
}

function classRange(numClasses: number, names: string[] | undefined): string {
  const range = `the model has ${numClasses} classes, 0..${numClasses - 1}`;
  if (names === undefined) return range;
  const shown = names.slice(0, 20).map((n, i) => `${i} '${n}'`);
  return `${range}: ${shown.join(', ')}${names.length > 20 ? `, ... (${names.length - 20} more)` : ''}`;
}

function resolveIndex(value: number | string, numClasses: number | undefined, names: string[] | undefined): number {
  if (typeof value === 'string') {
    if (names === undefined) throw new Error(`${WHO}: class '${value}' is a name but no classNames were given`);
    const index = names.indexOf(value);
    if (index < 0) {
      const shown = names.slice(0, 20).map((n) => `'${n}'`).join(', ');
      throw new Error(`${WHO}: no class named '${value}'; the classes are ${shown}${names.length > 20 ? ', ...' : ''}`);
    }
    return index;
  }
  const known = numClasses ?? names?.length;
  if (!Number.isInteger(value) || value < 0 || (known !== undefined && value >= known)) {
    const range =
      known !== undefined ? classRange(known, names) : 'expected a non-negative integer';
    throw new Error(`${WHO}: class ${value} is out of range; ${range}`);
  }
  return value;
}

/** Per-class weights as a dense [K] row (duplicates add up). */
function weightRow(classes: Array<{ index: number; weight: number }>, numClasses: number): Float32Array {
  const row = new Float32Array(numClasses);
  for (const { index, weight } of classes) row[index]! += weight;
  return row;
}

/**
 * value_b = sum_k w_k log p_bk; gradient with respect to z_bk = dy_b * w_k * (1 - p_bk).
 * The official PPGN approximation of d log p_c / dz for a class set.
 */
function diagonalObjective(logits: Tensor2D, row: Tensor1D): Tensor1D {
  const op = tf.customGrad((...inputs: Array<Tensor | tf.GradSaveFunc>) => {
    const z = inputs[0] as Tensor2D;
    const save = inputs[1] as tf.GradSaveFunc;
    const logp = tf.logSoftmax(z);
    const p = tf.exp(logp);
    // Saved tensors outlive this call (the caller's tidy may end before the backward pass).
    save([p, row]);
    return {
      value: tf.sum(tf.mul(logp, row), 1),
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) =>
        tf.mul(tf.reshape(dy as Tensor, [-1, 1]), tf.mul(saved[1]!, tf.sub(1, saved[0]!))),
    };
  });
  return op(logits) as Tensor1D;
}

function classText(index: number, names: string[] | undefined): string {
  const name = names?.[index];
  return name === undefined ? String(index) : `${index} '${name}'`;
}

/**
 * A Condition that scores how much a classifier sees a class (or a weighted set of classes)
 * in the images: log p(c | x) by default. Works over any tfjs LayersModel (a final softmax is
 * detected and read through), a GraphModel, or a plain `(x) => logits` function, with an
 * optional input adapter between the generator's images and the model.
 *
 * The condition does not own the model: `dispose()` leaves it to the caller.
 *
 * @example
 * const condition = classCondition({ model: mnistClassifier, classIndex: 3 });
 * const logp = condition.logProb(images); // [B]
 */
export function classCondition(args: ClassConditionArgs): Condition {
  const { model, classNames } = args;
  const objective = args.objective ?? 'log-softmax';
  if (!['log-softmax', 'logit', 'diagonal'].includes(objective)) {
    throw new Error(`${WHO}: unknown objective '${objective}', expected log-softmax, logit or diagonal`);
  }
  if ((args.classIndex === undefined) === (args.classes === undefined)) {
    throw new Error(`${WHO}: give exactly one of classIndex and classes`);
  }
  if (args.classes !== undefined && args.classes.length === 0) {
    throw new Error(`${WHO}: classes is empty`);
  }
  if (args.logitsNode !== undefined && !isGraphModel(model)) {
    throw new Error(`${WHO}: logitsNode applies to GraphModels only`);
  }

  // How to read logits (or log-probabilities standing in for them).
  let readLogits: (x: Tensor) => Tensor2D;
  let numClasses: number | undefined;
  let source = '';
  let fromProbabilities = false;
  if (isLayersModel(model)) {
    const lm = logitsModel(model);
    if (args.output === 'logits' && lm.source.kind !== 'output') {
      throw new Error(
        `${WHO}: output: 'logits' was given but the model's last layer '${lm.source.layer}' applies softmax; leave output unset to read the logits before it`,
      );
    }
    if (args.output === 'probabilities' && lm.source.kind === 'output') {
      // Declared probabilities, but no softmax layer to look through.
      fromProbabilities = true;
      readLogits = (x) => lm.predict(x);
    } else {
      readLogits = lm.predict;
    }
    numClasses = lm.numClasses;
    source = describeSource(lm.source);
  } else {
    fromProbabilities = args.output === 'probabilities';
    const node = args.logitsNode;
    readLogits = (x) => runModel(model, x, node) as Tensor2D;
    if (isGraphModel(model) && node === undefined) {
      const d = model.outputs[0]?.shape?.at(-1);
      numClasses = d === undefined || d === null || d < 0 ? undefined : d;
    }
    if (node !== undefined) source = ` (logits from node '${node}')`;
  }
  if (fromProbabilities) {
    if (objective !== 'log-softmax') {
      throw new Error(
        `${WHO}: objective '${objective}' needs the model's logits, but it outputs probabilities and no softmax layer was found to read through; pass a model that outputs logits${isGraphModel(model) ? ' or logitsNode' : ''}, or use objective 'log-softmax'`,
      );
    }
    const readProbabilities = readLogits;
    // log p is a valid set of logits: log softmax(log p) = log p.
    readLogits = (x) => tf.tidy(() => tf.log(tf.maximum(readProbabilities(x), TINY)) as Tensor2D);
    source = ' (log of its probabilities)';
  }
  if (classNames !== undefined && numClasses !== undefined && classNames.length !== numClasses) {
    throw new Error(`${WHO}: ${classNames.length} classNames for a model with ${numClasses} classes`);
  }

  const requested = args.classes ?? [{ index: args.classIndex!, weight: 1 }];
  const classes = requested.map(({ index, weight }) => {
    const w = weight ?? 1;
    if (!Number.isFinite(w)) throw new Error(`${WHO}: weight of class ${index} is ${w}, expected a finite number`);
    return { index: resolveIndex(index, numClasses, classNames), weight: w };
  });
  const maxIndex = Math.max(...classes.map((c) => c.index));

  const feed = imageInput(model, { input: args.input, imageShape: args.imageShape }, WHO);

  const single = args.classes === undefined;
  const label = classes
    .map((c) => (single ? classText(c.index, classNames) : `${c.weight}*${classText(c.index, classNames)}`))
    .join(' + ');
  const idLabel = classes
    .map((c) => {
      const name = classNames?.[c.index] ?? String(c.index);
      return single ? name : `${c.weight}*${name}`;
    })
    .join('+');
  const id = `${single ? 'class' : 'classes'}(${idLabel}${objective === 'log-softmax' ? '' : `, ${objective}`})`;
  const adapterText = feed.describe();
  const what = objective === 'logit' ? `logit of class ${label}` : `log p(class ${label} | x)`;
  const description = `${what} from ${describeModel(model)}${source}${objective === 'diagonal' ? ', diagonal (official PPGN) gradient' : ''}${adapterText ? `, through ${adapterText}` : ''}`;

  let rowCache: { k: number; row: Float32Array } | undefined;
  function rowFor(k: number): Float32Array {
    if (maxIndex >= k) {
      throw new Error(`${WHO}: class ${maxIndex} is out of range; ${classRange(k, classNames)}`);
    }
    if (rowCache?.k !== k) rowCache = { k, row: weightRow(classes, k) };
    return rowCache.row;
  }

  return {
    id,
    imageShape: feed.imageShape,
    describe: () => description,
    logProb(x: Tensor4D): Tensor1D {
      return tf.tidy(() => {
        const logits = readLogits(feed.prepare(x));
        if (logits.rank !== 2) {
          throw new Error(`${WHO}: the model's scores have shape [${logits.shape.join(', ')}]; expected [batch, classes]`);
        }
        const row = tf.tensor1d(rowFor(logits.shape[1]));
        if (objective === 'diagonal') return diagonalObjective(logits, row);
        const scores = objective === 'logit' ? logits : tf.logSoftmax(logits);
        return tf.sum(tf.mul(scores, row), 1) as Tensor1D;
      });
    },
    dispose() {},
  };
}

function describeSource(source: LogitsSource): string {
  switch (source.kind) {
    case 'output':
      return '';
    case 'softmax-layer':
      return ` (logits read before its softmax layer '${source.layer}')`;
    case 'fused-dense':
      return ` (logits read through the softmax of its layer '${source.layer}')`;
  }
}
