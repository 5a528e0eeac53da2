/**
 * Compose a custom condition from your own tfjs model and sample images for it.
 *
 *   pnpm --filter @ppgn/examples custom-condition [path/to/model-dir] [class]
 *
 * Any model from 28x28x1 images in [0, 1] to class logits works; by default the zoo's
 * evaluator network stands in for "your model" (a classifier the sampler was not built
 * around). Writes out/custom-condition.png.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ppgn/backend';
import { type Condition, loadModel, writeGrid } from '@ppgn/core';
import { sample } from '@ppgn/sampler';
import { entryDir, loadZoo } from '@ppgn/zoo';

await initBackend();
const model = await loadModel(process.argv[2] ?? join(entryDir('mnist'), 'evaluator')); // your tfjs LayersModel
const wanted = Number(process.argv[3] ?? 7);
const condition: Condition = {
  id: `my-model(${wanted})`,
  imageShape: [28, 28, 1],
  describe: () => `log p(${wanted} | x) under my model`,
  logProb: (x) => tf.tidy(() => tf.squeeze(tf.gather(tf.logSoftmax(model.apply(x) as tf.Tensor2D), [wanted], 1), [1])),
  dispose: () => model.dispose(),
};
const { generator, prior } = (await loadZoo('mnist')).variant('noiseless-joint-ppgn-h');
const result = await sample({ generator, prior, condition, variant: 'noiseless-joint-ppgn-h', batch: 8, seed: 1, clip: [0, 30] });
await writeGrid('out/custom-condition.png', result.images, { scale: 4, labels: result.logProb!.map((lp) => `p ${Math.exp(lp).toFixed(2)}`) });
console.log(`wrote out/custom-condition.png; p(${wanted} | x) per chain: ${result.logProb!.map((lp) => Math.exp(lp).toFixed(3)).join(' ')}`);
