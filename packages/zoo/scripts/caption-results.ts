// Caption sampling results of the shapes entry: for a fixed list of captions, samples
// steered by the captioner, checked by the attribute evaluator against every attribute of
// the caption; beside them the same generator and prior without the caption (chance) and
// real held-out scenes with the caption. Writes docs/results/captions/{table.md,
// metrics.json, <caption>.png, reconstructions.png}.
//   npx tsx packages/zoo/scripts/caption-results.ts
// Environment: CAPTION_N (samples per caption, default 16), CAPTION_SETTINGS (JSON sampler
// overrides), CAPTION_VARIANT, CAPTION_START ('noise' | 'scenes') and CAPTION_RESTARTS (over
// the entry's caption sampling), CAPTION_ONLY (run only the first K captions), CAPTION_SET=tuning
// (the 6 tuning captions instead of the 12 reported ones: settings are chosen on these), CAPTION_OUT.
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '@ppgn/backend';
import { createProgress, loadModel, saveJSON, writeFileAtomic, writeGrid } from '@ppgn/core';
import { encoderAt } from '@ppgn/condition-classifier';
import { shapes } from '@ppgn/data';
import * as tf from '@tensorflow/tfjs-core';
import { type CaptionStart, type CaptionVariant, captionParts, captionSampling, captionVariant, entryDir, evaluateCaption, loadZoo, parseShapesCaption, sampleCaption } from '../src/index.js';

const root = resolve(fileURLToPath(import.meta.url), '../../../..');
const outDir = resolve(process.env.CAPTION_OUT ?? join(root, 'docs/results/captions'));
const N = Number(process.env.CAPTION_N ?? 16);
const SEED = 7;
const UNCONDITIONED = 64;
const overrides = JSON.parse(process.env.CAPTION_SETTINGS ?? '{}') as Record<string, number>;
const startOverride = process.env.CAPTION_START as CaptionStart | undefined;
const restartsOverride = process.env.CAPTION_RESTARTS ? Number(process.env.CAPTION_RESTARTS) : undefined;
const variantOverride = process.env.CAPTION_VARIANT as CaptionVariant | undefined;

/** Captions whose exact text is in the training captions, then ones that never are. */
const REPORTED_CAPTIONS = [
  'a red circle above a blue square',
  'a green triangle left of a yellow circle',
  'a small red square left of a large blue triangle',
  'a large yellow triangle above a small white circle',
  'a blue triangle',
  'a large green circle',
  'a white square below a red triangle',
  'a yellow square above a small white triangle',
  'a large blue circle above a large red square',
  'a small red triangle right of a small green square',
  'a white triangle below a red circle',
  'a large blue triangle above a small yellow square',
];
/** Captions to choose sampler settings on, none of them among the reported ones. */
const TUNING_CAPTIONS = [
  'a green square right of a red circle',
  'a yellow circle below a blue triangle',
  'a small white square left of a large green triangle',
  'a red triangle',
  'a large yellow square above a small blue circle',
  'a blue circle left of a white triangle',
];
const captionSet = process.env.CAPTION_SET ?? 'reported';
if (captionSet !== 'reported' && captionSet !== 'tuning') throw new Error(`CAPTION_SET must be 'reported' or 'tuning', got '${captionSet}'`);
const CAPTIONS = (captionSet === 'tuning' ? TUNING_CAPTIONS : REPORTED_CAPTIONS).slice(0, Number(process.env.CAPTION_ONLY ?? 12));

const slug = (c: string) => c.replace(/ /g, '-');
const pct = (v: number) => `${(100 * v).toFixed(0)}%`;

const backend = await initBackend();
const zoo = await loadZoo('shapes');
const parts = captionParts(zoo);
const variant = captionVariant(zoo, variantOverride);
const joint = variant.includes('joint');
const variantText = joint
  ? `${variant}: \`generator-scenes-joint\` + the joint prior E(G(h)) - h of the scene encoder`
  : variant === 'ppgn-h'
    ? 'PPGN-h: `generator-scenes` + `h-dae-scenes`'
    : 'DGN-AM: `generator-scenes` alone';

// Training captions of the captioner (seed-1 scenes plus mirror images with left/right
// swapped) and of the scene generator (the same seed-1 scenes).
const train = shapes({ size: 20000, seed: 1 });
const mirrored = train.captions.map((c) => c.replace(/\b(left|right) of\b/g, (m) => (m === 'left of' ? 'right of' : 'left of')));
const seen = new Set([...train.captions, ...mirrored]);
const withoutSizes = (c: string) => c.replace(/\b(small|large) /g, '');
const seenWithoutSizes = new Set([...seen].map(withoutSizes));
// Held-out scenes (seed 2; items depend only on seed and index, so the first 2000 are the
// entry's held-out set) searched for each caption.
const heldOut = shapes({ size: 60000, seed: 2 });

// Unconditioned chains: the same G, prior and settings without the caption (chance level).
const unconditioned = await sampleCaption(zoo, { caption: CAPTIONS[0]!, n: UNCONDITIONED, seed: SEED + 1, conditioned: false, variant, settings: overrides, start: startOverride });
await writeGrid(join(outDir, 'unconditioned.png'), unconditioned.images, { scale: 3, columns: 16 });

interface Row {
  caption: string;
  seenInTraining: boolean;
  seenIgnoringSizes: boolean;
  samples: number;
  agreement: Record<string, number>;
  meanLogProb: number;
  unconditioned: Record<string, number>;
  realHeldOut: { count: number; agreement?: Record<string, number> };
}
const sampling = captionSampling(zoo, { start: startOverride, restarts: restartsOverride });
const rows: Row[] = [];
const progress = createProgress('caption results', CAPTIONS.length);
let settingsUsed: unknown;
for (const [k, caption] of CAPTIONS.entries()) {
  parseShapesCaption(caption);
  const result = await sampleCaption(zoo, { caption, n: N, seed: SEED, variant, settings: overrides, start: startOverride, restarts: restartsOverride });
  settingsUsed = result.settings;
  const evaluation = evaluateCaption(zoo, caption, result.images);
  const labels = evaluation.perImage.map((a) => (a.all ? 'ok' : 'no'));
  await writeGrid(join(outDir, `${slug(caption)}.png`), result.images, { labels, scale: 3, columns: 8 });
  const chance = evaluateCaption(zoo, caption, unconditioned.images);
  const matches = heldOut.captions.flatMap((c, i) => (c === caption ? [i] : [])).slice(0, N);
  let real: Row['realHeldOut'] = { count: matches.length };
  if (matches.length > 0) {
    const images = heldOut.images(matches);
    real = { count: matches.length, agreement: evaluateCaption(zoo, caption, images).rates };
    images.dispose();
  }
  const logProb = result.logProb ?? [];
  rows.push({
    caption,
    seenInTraining: seen.has(caption),
    seenIgnoringSizes: seenWithoutSizes.has(withoutSizes(caption)),
    samples: N,
    agreement: evaluation.rates,
    meanLogProb: Number((logProb.reduce((a, b) => a + b, 0) / Math.max(1, logProb.length)).toFixed(3)),
    unconditioned: chance.rates,
    realHeldOut: real,
  });
  result.dispose();
  progress.update(k + 1);
}
progress.finish();
unconditioned.dispose();

// Reconstructions of two-object held-out scenes: the entry's classifier code through its G
// (trained on one-object scenes) against the scene encoder's code through G of scenes.
const twoObjects = shapes({ size: 16, seed: 2, objects: 2 });
const recon = await (async () => {
  const classifier = await loadModel(join(entryDir('shapes'), 'classifier'));
  const x = twoObjects.images({ start: 0, end: 16 });
  const out = tf.tidy(() => {
    const oldCode = encoderAt(classifier, 'fc').encode(x);
    const oldX = zoo.generator.generate(oldCode);
    const sceneCode = parts.sceneEncoder.encode(x);
    const newX = parts.generator.generate(sceneCode);
    const jointX = parts.jointGenerator?.generate(sceneCode);
    const mse = (a: tf.Tensor, b: tf.Tensor) => Number(tf.mean(tf.square(tf.sub(a, b))).dataSync()[0]!.toFixed(5));
    const rows = jointX ? [x, oldX, newX, jointX] : [x, oldX, newX];
    return { grid: tf.concat(rows, 0) as tf.Tensor4D, oldMse: mse(oldX, x), newMse: mse(newX, x), jointMse: jointX ? mse(jointX, x) : undefined };
  });
  x.dispose();
  classifier.dispose();
  return out;
})();
await writeGrid(join(outDir, 'reconstructions.png'), recon.grid, { columns: 16, scale: 3 });
recon.grid.dispose();

const mean = (f: (r: Row) => number, list = rows) => list.reduce((a, r) => a + f(r), 0) / Math.max(1, list.length);
const withReal = rows.filter((r) => r.realHeldOut.agreement);
const summary = {
  samplesAll: Number(mean((r) => r.agreement.all!).toFixed(4)),
  unconditionedAll: Number(mean((r) => r.unconditioned.all!).toFixed(4)),
  realHeldOutAll: Number(mean((r) => r.realHeldOut.agreement!.all!, withReal).toFixed(4)),
  samplesAllOnCaptionsWithReal: Number(mean((r) => r.agreement.all!, withReal).toFixed(4)),
  neverSeenSamplesAll: Number(mean((r) => r.agreement.all!, rows.filter((r) => !r.seenInTraining)).toFixed(4)),
  seenSamplesAll: Number(mean((r) => r.agreement.all!, rows.filter((r) => r.seenInTraining)).toFixed(4)),
};
const metrics = {
  entry: 'shapes',
  backend,
  variant: `${variantText.replace(/`/g, '')}; caption condition of the shapes captioner`,
  evaluator: 'attribute-evaluator',
  attributeEvaluatorHeldOut: zoo.card.parts['attribute-evaluator']?.metrics,
  samplesPerCaption: N,
  seed: SEED,
  settings: settingsUsed,
  sampling,
  unconditionedSamples: UNCONDITIONED,
  reconstructionMseTwoObjectScenes: {
    classifierCodeThroughGenerator: recon.oldMse,
    sceneCodeThroughGeneratorScenes: recon.newMse,
    sceneCodeThroughGeneratorScenesJoint: recon.jointMse,
  },
  summary,
  captions: rows,
};
await saveJSON(join(outDir, 'metrics.json'), metrics);

const table = [
  '# Caption-conditioned sampling (shapes)',
  '',
  `${N} samples per caption (${variantText}, condition log p(caption | x) of the shapes captioner, seed ${SEED}), judged by the \`attribute-evaluator\`: a sample agrees when the evaluator finds exactly the caption's objects (colour + shape), each said size, and the relation between their centres. "unconditioned": ${UNCONDITIONED} chains of the same generator, prior and settings without the caption (chance). "real held out": held-out scenes (seed 2) with exactly this caption, up to ${N} (the evaluator's ceiling). "seen": the exact caption is among the training captions of the captioner and generator (seed-1 scenes, with mirror images for the captioner).`,
  '',
  '| caption | seen in training | samples: all attributes | objects | size | relation | unconditioned | real held out (n) |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| [${r.caption}](${slug(r.caption)}.png) | ${r.seenInTraining ? 'yes' : r.seenIgnoringSizes ? 'no (yes without sizes)' : 'no'} | ${pct(r.agreement.all!)} | ${pct(r.agreement.objects!)} | ${pct(r.agreement.size!)} | ${pct(r.agreement.relation!)} | ${pct(r.unconditioned.all!)} | ${r.realHeldOut.agreement ? `${pct(r.realHeldOut.agreement.all!)} (${r.realHeldOut.count})` : 'none'} |`,
  ),
  `| **mean** | | **${pct(summary.samplesAll)}** | | | | **${pct(summary.unconditionedAll)}** | **${pct(summary.realHeldOutAll)}** (${withReal.length} captions) |`,
  '',
  `Never-seen captions: ${pct(summary.neverSeenSamplesAll)} of samples agree; seen captions: ${pct(summary.seenSamplesAll)}.`,
  '',
  `Chains start from ${sampling.start === 'scenes' ? 'the codes E(x) of random training scenes' : 'h ~ N(0, 1) clipped to the code range'}; ${sampling.restarts > 1 ? `${sampling.restarts} chains per sample, keeping the one most likely under the caption (the captioner's log p(caption | x), the condition itself; the unconditioned chains have one chain each)` : 'one chain per sample'}.`,
  '',
  `Settings: \`${JSON.stringify(settingsUsed)}\`.`,
  '',
  `[reconstructions.png](reconstructions.png): held-out two-object scenes (row 1), G(E(x)) with the one-object classifier's code and G (row 2, image MSE ${recon.oldMse}), and with the scene encoder's code and \`generator-scenes\` (row 3, MSE ${recon.newMse})${recon.jointMse === undefined ? '' : ` and \`generator-scenes-joint\` (row 4, MSE ${recon.jointMse})`}. [unconditioned.png](unconditioned.png): the chance-level chains.`,
  '',
];
await writeFileAtomic(join(outDir, 'table.md'), table.join('\n'));
console.log(table.join('\n'));
zoo.dispose();
