import { Adam, type AdamOptions, minimizeStep, runTraining, type TrainingResult, type TrainingRunOptions } from '@ppgn/core';
import type { ImageShape } from '@ppgn/core';
import { SHAPE_COLORS, SHAPE_KINDS, type ShapeColor, type ShapeKind, type ShapeScene, type ShapeSize, type ShapesDataset } from '@ppgn/data';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';

/**
 * The attribute model of shapes scenes: for each of the 15 colour-shape classes
 * ("red circle" ... "white triangle", colour-major) four outputs, in this order:
 * presence logit, centre x and centre y (in [-1, 1] across the image), and a logit of
 * the size being 'large'. A scene's objects are the present classes, so two objects of
 * the same colour and shape read as one (5-6% of mixed scenes).
 */
export const ATTRIBUTE_CLASSES: readonly string[] = SHAPE_COLORS.flatMap((c) => SHAPE_KINDS.map((s) => `${c} ${s}`));
export const ATTRIBUTE_OUTPUTS_PER_CLASS = 4;
export const ATTRIBUTE_OUTPUTS = ATTRIBUTE_CLASSES.length * ATTRIBUTE_OUTPUTS_PER_CLASS;
/**
 * A model with one more output, a logit of the background being light, also learns the
 * background: the scene encoder needs it, or its code leaves G to guess the background.
 */
export const ATTRIBUTE_OUTPUTS_WITH_BACKGROUND = ATTRIBUTE_OUTPUTS + 1;

/** One object as the attribute model reads it. Coordinates in pixels, like `ShapeObject`. */
export interface PredictedObject {
  color: ShapeColor;
  shape: ShapeKind;
  size: ShapeSize;
  x: number;
  y: number;
  /** Sigmoid of the presence logit. */
  confidence: number;
}

function classIndex(color: string, shape: string): number {
  return ATTRIBUTE_CLASSES.indexOf(`${color} ${shape}`);
}

/**
 * Training targets and masks of scenes, each [n, 60] in the model's output layout. The
 * presence mask is 1 everywhere; the centre and size masks are 1 only for a class with
 * exactly one object in the scene (for two of a class the slot has no single answer).
 */
export function attributeTargets(scenes: readonly ShapeScene[], imageSize: number): { targets: Float32Array; masks: Float32Array } {
  const n = scenes.length;
  const targets = new Float32Array(n * ATTRIBUTE_OUTPUTS);
  const masks = new Float32Array(n * ATTRIBUTE_OUTPUTS);
  scenes.forEach((scene, i) => {
    const row = i * ATTRIBUTE_OUTPUTS;
    for (let c = 0; c < ATTRIBUTE_CLASSES.length; c++) masks[row + c * ATTRIBUTE_OUTPUTS_PER_CLASS] = 1;
    const counts = new Map<number, number>();
    for (const o of scene.objects) {
      const c = classIndex(o.color, o.shape);
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    for (const o of scene.objects) {
      const c = classIndex(o.color, o.shape);
      const at = row + c * ATTRIBUTE_OUTPUTS_PER_CLASS;
      targets[at] = 1;
      if (counts.get(c) !== 1) continue;
      targets[at + 1] = (o.x / imageSize) * 2 - 1;
      targets[at + 2] = (o.y / imageSize) * 2 - 1;
      targets[at + 3] = o.size === 'large' ? 1 : 0;
      masks[at + 1] = 1;
      masks[at + 2] = 1;
      masks[at + 3] = 1;
    }
  });
  return { targets, masks };
}

/** Weight of the centre loss (squared error in [-1, 1] units) against the logistic losses. */
const CENTRE_WEIGHT = 10;

/** Masked attribute loss: logistic on presence and size, squared error on centres; per image. */
export function attributeLoss(outputs: Tensor2D, targets: Tensor2D, masks: Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const n = outputs.shape[0];
    const per = [n, ATTRIBUTE_CLASSES.length, ATTRIBUTE_OUTPUTS_PER_CLASS];
    const o = tf.reshape(outputs, per);
    const t = tf.reshape(targets, per);
    const m = tf.reshape(masks, per);
    const part = (k: number, t3: tf.Tensor) => tf.squeeze(tf.slice(t3, [0, 0, k], [-1, -1, 1]), [2]);
    const logistic = (logit: tf.Tensor, target: tf.Tensor) =>
      // log(1 + e^z) - t z, stable
      tf.sub(tf.add(tf.relu(logit), tf.log1p(tf.exp(tf.neg(tf.abs(logit))))), tf.mul(target, logit));
    // Summed over the 15 classes, so a missed object costs as much as a wrong size; a mean
    // left the presences under-weighted (half the held-out objects missed after 2000 steps).
    const presence = tf.div(tf.sum(logistic(part(0, o), part(0, t))), n);
    const centreMask = part(1, m);
    const objects = tf.maximum(tf.sum(centreMask), 1);
    const centre = tf.div(
      tf.sum(tf.mul(centreMask, tf.add(tf.square(tf.sub(part(1, o), part(1, t))), tf.square(tf.sub(part(2, o), part(2, t)))))),
      objects,
    );
    const size = tf.div(tf.sum(tf.mul(part(3, m), logistic(part(3, o), part(3, t)))), objects);
    return tf.addN([presence, tf.mul(centre, CENTRE_WEIGHT), size]) as tf.Scalar;
  });
}

/** Reads attribute outputs [n, 60] as objects, one list per image. */
export function decodeAttributes(outputs: Tensor2D, imageSize: number, threshold = 0.5): PredictedObject[][] {
  if (outputs.shape[1] !== ATTRIBUTE_OUTPUTS && outputs.shape[1] !== ATTRIBUTE_OUTPUTS_WITH_BACKGROUND) {
    throw new Error(`decodeAttributes: expected outputs of ${ATTRIBUTE_OUTPUTS} values per image, got ${outputs.shape[1]}`);
  }
  const width = outputs.shape[1];
  const v = outputs.dataSync();
  const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
  const lists: PredictedObject[][] = [];
  for (let i = 0; i < outputs.shape[0]; i++) {
    const list: PredictedObject[] = [];
    for (let c = 0; c < ATTRIBUTE_CLASSES.length; c++) {
      const at = i * width + c * ATTRIBUTE_OUTPUTS_PER_CLASS;
      const p = sigmoid(v[at]!);
      if (p < threshold) continue;
      const [color, shape] = ATTRIBUTE_CLASSES[c]!.split(' ') as [ShapeColor, ShapeKind];
      list.push({
        color,
        shape,
        size: sigmoid(v[at + 3]!) >= 0.5 ? 'large' : 'small',
        x: ((v[at + 1]! + 1) / 2) * imageSize,
        y: ((v[at + 2]! + 1) / 2) * imageSize,
        confidence: p,
      });
    }
    lists.push(list);
  }
  return lists;
}

/** The objects an attribute model sees in each image. */
export function predictObjects(model: LayersModel, images: Tensor4D, batchSize = 500): PredictedObject[][] {
  const out: PredictedObject[][] = [];
  for (let start = 0; start < images.shape[0]; start += batchSize) {
    const size = Math.min(batchSize, images.shape[0] - start);
    const y = tf.tidy(() => model.predict(tf.slice(images, [start, 0, 0, 0], [size, -1, -1, -1])) as Tensor2D);
    out.push(...decodeAttributes(y, images.shape[1]));
    y.dispose();
  }
  return out;
}

function init(seed: number) {
  return tfl.initializers.glorotUniform({ seed });
}

/**
 * The attribute evaluator: another architecture than the scene encoder (strided 3x3
 * convolutions, no pooling, a narrower feature layer) and another seed, so captions are
 * judged by a net that did not steer them. (The entry's evaluator architecture, 5x5 ELU
 * convolutions with average pooling, found both objects in only 21% of held-out scenes.)
 */
export function buildAttributeEvaluator(imageShape: ImageShape, seed: number): LayersModel {
  let k = seed;
  const input = tfl.input({ shape: imageShape, name: 'image' });
  let x: tfl.SymbolicTensor = input;
  for (const [i, [filters, strides]] of [[32, 1], [64, 2], [128, 2], [128, 2]].entries()) {
    x = tfl.layers
      .conv2d({ filters: filters!, kernelSize: 3, strides: strides!, padding: 'same', activation: 'relu', name: `a_conv${i + 1}`, kernelInitializer: init(k++) })
      .apply(x) as tfl.SymbolicTensor;
  }
  x = tfl.layers.flatten({ name: 'a_flatten' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ units: 192, activation: 'relu', name: 'features', kernelInitializer: init(k++) }).apply(x) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: ATTRIBUTE_OUTPUTS, name: 'attributes', kernelInitializer: init(k++) }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name: 'attribute_evaluator' });
}

/** Options of `trainAttributeModel`. */
export interface TrainAttributeModelOptions extends TrainingRunOptions {
  /** A model with 60 outputs in the layout of `ATTRIBUTE_CLASSES`. */
  model: LayersModel;
  train: ShapesDataset;
  batchSize?: number;
  optimizer?: AdamOptions;
}

/**
 * Trains an attribute model with the masked loss of `attributeLoss` and Adam. Each step
 * draws its batch from its own seeded stream (resumable). Half the batches are mirrored
 * left to right with their x targets flipped.
 */
export async function trainAttributeModel(options: TrainAttributeModelOptions): Promise<TrainingResult> {
  const { model, train } = options;
  const width = model.outputs[0]!.shape[1];
  if (width !== ATTRIBUTE_OUTPUTS && width !== ATTRIBUTE_OUTPUTS_WITH_BACKGROUND) {
    throw new Error(
      `trainAttributeModel: the model must have ${ATTRIBUTE_OUTPUTS} outputs (or ${ATTRIBUTE_OUTPUTS_WITH_BACKGROUND} with the background), it has ${width}`,
    );
  }
  const withBackground = width === ATTRIBUTE_OUTPUTS_WITH_BACKGROUND;
  const light = Float32Array.from(train.scenes, (s) => (s.background === 'light' ? 1 : 0));
  const batchSize = options.batchSize ?? 64;
  const imageSize = train.imageShape[1];
  const { targets, masks } = attributeTargets(train.scenes, imageSize);
  const adam = new Adam(model, { learningRate: 1e-3, ...options.optimizer });
  // Multiplies the centre-x outputs by -1 (mirroring), leaves the others.
  const flipX = tf.tensor1d(Array.from({ length: ATTRIBUTE_OUTPUTS }, (_, j) => (j % ATTRIBUTE_OUTPUTS_PER_CLASS === 1 ? -1 : 1)));
  try {
    return await runTraining({
      ...options,
      who: 'trainAttributeModel',
      models: { attributes: model },
      optimizers: { attributes: adam },
      state: {},
      fingerprint: { data: train.name, size: train.size, batchSize, optimizer: options.optimizer ?? {} },
      async step(step, rng, state) {
        const idx = Array.from({ length: batchSize }, () => rng.int(train.size));
        const mirror = rng.uniform() < 0.5;
        const rows = (src: Float32Array) => {
          const out = new Float32Array(batchSize * ATTRIBUTE_OUTPUTS);
          for (const [k, i] of idx.entries()) out.set(src.subarray(i * ATTRIBUTE_OUTPUTS, (i + 1) * ATTRIBUTE_OUTPUTS), k * ATTRIBUTE_OUTPUTS);
          return tf.tensor2d(out, [batchSize, ATTRIBUTE_OUTPUTS]);
        };
        const raw = train.images(idx);
        const x = mirror ? tf.reverse(raw, 2) : tf.clone(raw);
        const t0 = rows(targets);
        const t = mirror ? tf.mul(t0, flipX) : tf.clone(t0);
        const m = rows(masks);
        const bg = tf.tensor1d(idx.map((i) => light[i]!));
        const lossOf = () => {
          const out = model.apply(x, { training: true }) as Tensor2D;
          if (!withBackground) return attributeLoss(out, t as Tensor2D, m);
          const attributes = tf.slice(out, [0, 0], [-1, ATTRIBUTE_OUTPUTS]) as Tensor2D;
          const logit = tf.squeeze(tf.slice(out, [0, ATTRIBUTE_OUTPUTS], [-1, 1]), [1]);
          const background = tf.mean(tf.sub(tf.add(tf.relu(logit), tf.log1p(tf.exp(tf.neg(tf.abs(logit))))), tf.mul(bg, logit)));
          return tf.add(attributeLoss(attributes, t as Tensor2D, m), background) as tf.Scalar;
        };
        try {
          const loss = minimizeStep(adam, lossOf, 'trainAttributeModel', step);
          return { losses: { loss }, state };
        } finally {
          tf.dispose([raw, x, t0, t, m, bg]);
        }
      },
    });
  } finally {
    flipX.dispose();
    adam.dispose();
  }
}
