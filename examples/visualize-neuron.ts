/**
 * Multifaceted visualization of one hidden unit of a tfjs model: what makes it fire.
 *
 *   pnpm --filter @ppgn/examples visualize-neuron [model-dir] [layer] [unit]
 *
 * Any model taking 28x28x1 images in [0, 1] works, with a dense layer ([batch, units]) or a
 * conv layer ([batch, H, W, C], the unit read at the centre); by default the mnist zoo's
 * evaluator network and channel 5 of its conv layer e_conv2. Each facet starts from the
 * mean code of its own cluster of the training images that excite the unit most, so the
 * unit fires from the first step. Writes out/visualize-neuron-facets.png (the facets, with
 * the unit's activation) and out/visualize-neuron-top-real.png (those training images).
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ppgn/backend';
import { facetStarts, layerActivations, neuronCondition } from '@ppgn/condition-neuron';
import { loadModel, writeGrid } from '@ppgn/core';
import { sample } from '@ppgn/sampler';
import { entryDir, loadZoo } from '@ppgn/zoo';

await initBackend();
const model = await loadModel(process.argv[2] ?? join(entryDir('mnist'), 'evaluator')); // your tfjs LayersModel
const layer = process.argv[3] ?? 'e_conv2';
const unit = Number(process.argv[4] ?? 5);

const zoo = await loadZoo('mnist');
const { generator, prior } = zoo.variant('noiseless-joint-ppgn-h');
const { train } = await zoo.spec.recipe.data();
const images = train.images({ start: 0, end: train.size });
const starts = facetStarts({ model, layer, unit, images, encoder: zoo.encoder, generator, facets: 8 });
const result = await sample({
  generator,
  prior,
  condition: neuronCondition({ model, layer, unit }),
  variant: 'noiseless-joint-ppgn-h',
  ...zoo.spec.sampler.neuron, // the entry's tuned step size
  batch: 8,
  seed: 1,
  clip: zoo.spec.clip,
  init: starts.codes,
});

const reached = Array.from(layerActivations(model, layer, result.images, { unit }).dataSync());
const top = tf.gather(images, starts.topIndices.slice(0, 8)) as tf.Tensor4D;
await writeGrid('out/visualize-neuron-facets.png', result.images, { scale: 4, labels: reached.map((a) => `act ${a.toFixed(1)}`) });
await writeGrid('out/visualize-neuron-top-real.png', top, { scale: 4, labels: starts.topActivations.slice(0, 8).map((a) => `real ${a.toFixed(1)}`) });
console.log(
  `${layer}[${unit}]: facets reach ${reached.map((a) => a.toFixed(2)).join(' ')}; the most exciting training image reaches ${starts.topActivations[0]!.toFixed(2)}`,
);
console.log('wrote out/visualize-neuron-facets.png and out/visualize-neuron-top-real.png');
