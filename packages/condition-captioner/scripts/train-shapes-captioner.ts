// Trains the shapes captioner of the zoo and writes it, its model card and a sample grid.
//   npx tsx packages/condition-captioner/scripts/train-shapes-captioner.ts
// Resumable: checkpoints go to packages/condition-captioner/.work/shapes-captioner; run
// the same command again after an interruption. Environment: CAPTIONER_STEPS (default
// 6000) and CAPTIONER_OUT (default packages/zoo/models/shapes/captioner).
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '@ppgn/backend';
import { loadJSON, saveJSON, writeGrid } from '@ppgn/core';
import { SHAPES_VOCABULARY, type ShapeScene, shapes } from '@ppgn/data';
import * as tf from '@tensorflow/tfjs';
import {
  buildCaptioner,
  createVocabulary,
  evaluateCaptioner,
  saveCaptioner,
  trainCaptioner,
} from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.resolve(here, '..');
const root = path.resolve(pkg, '../..');
const checkpointDir = path.join(pkg, '.work', 'shapes-captioner');
const outDir = path.resolve(process.env.CAPTIONER_OUT ?? path.join(root, 'packages/zoo/models/shapes/captioner'));
const timingFile = path.join(checkpointDir, 'timing.json');

const STEPS = Number(process.env.CAPTIONER_STEPS ?? 6000);
const BATCH = 64;
const SEED = 1;
const LEARNING_RATE = 1e-3;
// A stride-1 first convolution keeps the detail that tells small shapes apart.
const ARCH = { channels: [16, 32, 64, 128], strides: [1, 2, 2, 2], features: 128, embed: 32, hidden: 128 };

const backend = await initBackend();
const train = shapes({ size: 20000, seed: 1 });
const heldOut = shapes({ size: 1000, seed: 2 });
const maxLength = Math.max(...train.captions.map((c) => c.split(' ').length));
const vocabulary = createVocabulary(SHAPES_VOCABULARY);
const captioner = buildCaptioner({ vocabulary, imageShape: [32, 32, 3], maxLength, seed: SEED, ...ARCH });
console.log(`backend ${backend}; ${captioner.describe()}`);

// Training time adds up over resumed runs.
await mkdir(checkpointDir, { recursive: true });
const previous = await loadJSON<{ seconds: number }>(timingFile).catch(() => ({ seconds: 0 }));
let seconds = previous.seconds;
let mark = Date.now();
const flushTime = async () => {
  const now = Date.now();
  seconds += (now - mark) / 1000;
  mark = now;
  await saveJSON(timingFile, { seconds });
};

// Augmentation: items n..2n-1 are the mirror images of items 0..n-1, with 'left of' and
// 'right of' swapped in their captions (every shape is symmetric about its vertical axis).
const n = train.size;
const mirrored = train.captions.map((c) =>
  c.replace(/\b(left|right) of\b/g, (m) => (m === 'left of' ? 'right of' : 'left of')),
);
const images = (idx: number[]): tf.Tensor4D =>
  tf.tidy(() => {
    const x = train.images(idx.map((i) => i % n));
    const flip = tf.tensor4d(
      idx.map((i) => (i >= n ? 1 : 0)),
      [idx.length, 1, 1, 1],
    );
    return tf.add(tf.mul(x, tf.sub(1, flip)), tf.mul(tf.reverse(x, 2), flip)) as tf.Tensor4D;
  });

const result = await trainCaptioner({
  captioner,
  data: { images, captions: [...train.captions, ...mirrored] },
  steps: STEPS,
  batchSize: BATCH,
  seed: SEED,
  optimizer: { learningRate: LEARNING_RATE },
  checkpointDir,
  checkpointEvery: 250,
  onStep: ({ step, losses }) => {
    if (step % 250 === 0) {
      void flushTime();
      console.log(
        `step ${step}: loss ${losses.loss!.toFixed(4)} accuracy ${losses.accuracy!.toFixed(3)} ` +
          `gradNorm ${losses.gradNorm!.toFixed(3)} (${Math.round(seconds)}s)`,
      );
    }
  },
});
if (result.step > result.startStep) await flushTime();
console.log(`trained to step ${result.step} (from ${result.startStep}) in ${Math.round(seconds)}s in all`);

// Held-out metrics.
const evalStart = Date.now();
const x = heldOut.images({ start: 0, end: heldOut.size });
const metrics = evaluateCaptioner(captioner, { images: x, captions: heldOut.captions });
const trainSample = shapes({ size: 1000, seed: 1 });
const xt = trainSample.images({ start: 0, end: 1000 });
const trainMetrics = evaluateCaptioner(captioner, { images: xt, captions: trainSample.captions });
xt.dispose();

const INVERSE: Record<string, string> = { above: 'below', below: 'above', 'left of': 'right of', 'right of': 'left of' };

/** Whether "a [size] colour shape" describes object `o` (a size, when said, must be right). */
function phraseFits(phrase: string, o: ShapeScene['objects'][number]): boolean {
  const w = phrase.split(' ');
  if (w[0] !== 'a' || (w.length !== 3 && w.length !== 4)) return false;
  if (w.length === 4 && w[1] !== o.size) return false;
  return w.at(-2) === o.color && w.at(-1) === o.shape;
}

/**
 * Whether a caption is true of a scene: the right number of objects, each with its colour
 * and shape, every size it names right, and the right relation, in either order ("a X above
 * a Y" is as true as "a Y below a X"). The reference captions name each size only half of
 * the time and put either object first, both at random, which no image shows; a true
 * caption need not be the reference word for word.
 */
function trueOf(caption: string, scene: ShapeScene): boolean {
  const m = /^(.+?)(?: (above|below|left of|right of) (.+))?$/.exec(caption);
  if (m === null) return false;
  const [a, b] = scene.objects as [ShapeScene['objects'][number], ShapeScene['objects'][number] | undefined];
  if (m[2] === undefined || m[3] === undefined) return b === undefined && phraseFits(m[1]!, a);
  if (b === undefined || scene.relation === undefined) return false;
  const [p, rel, q] = [m[1]!, m[2], m[3]];
  return (
    (rel === scene.relation && phraseFits(p, a) && phraseFits(q, b)) ||
    (rel === INVERSE[scene.relation] && phraseFits(p, b) && phraseFits(q, a))
  );
}
const correct = metrics.greedy.filter((c, i) => trueOf(c, heldOut.scenes[i]!)).length / heldOut.size;
const referenceTrue = heldOut.captions.every((c, i) => trueOf(c, heldOut.scenes[i]!));
if (!referenceTrue) throw new Error('the caption checker rejects a reference caption');
// The best exact-match rate any captioner can expect: 1/2 for one object (size said or
// not), 1/8 for two (two sizes, and which object comes first).
const exactCeiling = heldOut.scenes.reduce((a, s) => a + (s.objects.length === 1 ? 0.5 : 0.125), 0) / heldOut.size;
console.log(
  `held-out: exact ${metrics.exactMatch.toFixed(3)} (ceiling ${exactCeiling.toFixed(3)}), true-of-scene ${correct.toFixed(3)}, ` +
    `word accuracy ${metrics.wordAccuracy.toFixed(3)}, token loss ${metrics.tokenLoss.toFixed(4)}; ` +
    `train sample: exact ${trainMetrics.exactMatch.toFixed(3)}, word accuracy ${trainMetrics.wordAccuracy.toFixed(3)} ` +
    `(${((Date.now() - evalStart) / 1000).toFixed(0)}s)`,
);

// The model, its card, a grid of held-out images with their greedy captions.
await saveCaptioner(captioner, outDir);
const card = {
  entry: 'shapes/captioner',
  description:
    'LRCN-style captioner for the procedural shapes set: CNN image features set the LSTM state and join every step input; the caption condition log p(caption | x) of @ppgn/condition-captioner',
  data: 'shapes({ size: 20000, seed: 1 }) from @ppgn/data (32x32x3, captions of 1 or 2 objects), plus their mirror images with left/right swapped in the captions',
  heldOut: 'shapes({ size: 1000, seed: 2 })',
  architecture:
    `encoder: conv3x3 relu ${ARCH.channels.map((c, i) => `${c} (stride ${ARCH.strides[i]})`).join(', ')}, dense ${ARCH.features} relu; ` +
    `decoder: embedding ${ARCH.embed} + image features per step, LSTM ${ARCH.hidden} (initial state tanh(dense(features))), dense ${vocabulary.size} logits`,
  config: captioner.config,
  vocabulary: vocabulary.tokens,
  parameters: captioner.countParams(),
  steps: result.step,
  batchSize: BATCH,
  learningRate: LEARNING_RATE,
  trainSeconds: Math.round(seconds),
  backend,
  seed: SEED,
  metrics: {
    heldOutExactMatch: metrics.exactMatch,
    heldOutWordAccuracy: metrics.wordAccuracy,
    heldOutTrueOfScene: correct,
    heldOutExactMatchCeiling: exactCeiling,
    heldOutTokenLoss: metrics.tokenLoss,
    heldOutMeanLogProb: metrics.meanLogProb,
    trainSampleExactMatch: trainMetrics.exactMatch,
    trainSampleWordAccuracy: trainMetrics.wordAccuracy,
  },
  notes: [
    'exactMatch: greedy caption equal to the reference word for word; wordAccuracy: teacher-forced argmax per token (words and <eos>).',
    'The reference names each size only half of the time and puts either object of a pair first, both at random, which no image shows: exact match and word accuracy have ceilings below 1 (heldOutExactMatchCeiling: 1/2 per one-object scene, 1/8 per pair).',
    'trueOfScene: the greedy caption names the right objects, colours, shapes and relation (in either order), and any size it names is right.',
  ],
};
await saveJSON(path.join(outDir, 'card.json'), card);

const show = 16;
const grid = tf.slice(x, 0, show) as tf.Tensor4D;
const marks = metrics.greedy.slice(0, show).map((c, i) => `${trueOf(c, heldOut.scenes[i]!) ? '+' : 'x'} ${c}`);
await writeGrid(path.join(root, 'out', 'captioner', 'held-out-greedy.png'), grid, {
  columns: 1,
  scale: 2,
  rowLabels: marks,
  background: 1,
});
for (let i = 0; i < show; i++) console.log(`${marks[i]}   [reference: ${heldOut.captions[i]}]`);
tf.dispose([x, grid]);
console.log(`saved to ${outDir}`);
