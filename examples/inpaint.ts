/**
 * Fill a hole in a held-out digit, consistently with the pixels around it (and a class, if given).
 *
 *   pnpm --filter @ppgn/examples inpaint [test-index] [class ...]
 *
 * A centred 14x14 square of held-out mnist digit `test-index` (default 120, a 3) is hidden; a chain
 * starts from the encoder's code of the masked digit and fills the hole with no class given,
 * then one chain per class (default 3 4 9) fills it steered towards that class. The chains
 * have no noise, so each condition gives one completion. Writes out/inpaint.png:
 * masked | no class | one per class | original.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ppgn/backend';
import { writeGrid } from '@ppgn/core';
import { inpaintMask, PRESETS, sample } from '@ppgn/sampler';
import { loadZoo } from '@ppgn/zoo';

await initBackend();
const index = Number(process.argv[2] ?? 120);
const classes = process.argv.length > 3 ? process.argv.slice(3).map(Number) : [3, 4, 9];

const zoo = await loadZoo('mnist');
const { train, test } = await zoo.spec.recipe.data();
const image = test.images([index]);
const mask = inpaintMask('center', 28, 28); // [28, 28, 1], 1 = hole
// What the encoder sees in the hole at the start: the training mean image, when the entry says so.
const fill = zoo.spec.inpaintStart === 'mean' ? tf.mean(train.images({ start: 0, end: train.size }), 0) : undefined;
const { generator, prior } = zoo.variant('noiseless-joint-ppgn-h');

const completions: tf.Tensor4D[] = [];
for (const wanted of [undefined, ...classes]) {
  const result = await sample({
    generator,
    prior,
    condition: wanted === undefined ? undefined : zoo.classCondition(wanted),
    variant: 'noiseless-joint-ppgn-h',
    ...PRESETS.inpainting,
    ...zoo.spec.sampler.inpainting, // the entry's tuned weights and step sizes
    batch: 1,
    seed: 1,
    clip: zoo.spec.clip,
    inpaint: { image, mask, encoder: zoo.encoder, fill },
  });
  completions.push(result.images);
}

const masked = tf.mul(image, tf.sub(1, mask)) as tf.Tensor4D;
const row = tf.concat([masked, ...completions, image]) as tf.Tensor4D;
const labels = ['masked', 'no class', ...classes.map((c) => `class ${c}`), 'original'];
await writeGrid('out/inpaint.png', row, { columns: labels.length, scale: 4, labels });
console.log(`wrote out/inpaint.png (held-out digit ${index}, label ${test.labels[index]}): ${labels.join(' | ')}`);
