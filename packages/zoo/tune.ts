import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ppgn/backend';
import { writeGrid } from '@ppgn/core';
import { createSampleEvaluation } from '@ppgn/eval';
import { loadZoo, sampleClass } from './src/index.js';
await initBackend();
const zoo = await loadZoo(process.argv[2]!);
const variant = process.argv[3] as any;
const settings = JSON.parse(process.argv[4] ?? '{}');
const per = Number(process.argv[5] ?? 8);
const { train, test } = await zoo.spec.recipe.data();
const ev = createSampleEvaluation({ evaluator: zoo.evaluator(), test: { images: test.images({ start: 0, end: 1000 }), labels: test.labels.slice(0, 1000) }, train: train.images({ start: 0, end: 2000 }) });
const t = Date.now();
const parts: tf.Tensor4D[] = []; const intended: number[] = [];
for (let k = 0; k < zoo.classNames.length; k++) {
  const r = await sampleClass(zoo, { classIndex: k, variant, n: per, seed: 1 + k, settings });
  parts.push(tf.clone(r.images)); r.dispose(); intended.push(...new Array(per).fill(k));
}
const all = tf.concat(parts, 0) as tf.Tensor4D;
const m = ev.evaluate(all, intended);
console.log(variant, JSON.stringify(settings), `acc ${(m.accuracy*100).toFixed(1)} IS ${m.inceptionScore.toFixed(2)} FID ${m.frechetDistance.toFixed(1)} div ${m.diversityVsReal.toFixed(2)} nnpx ${m.nearestTrainPixel.toFixed(2)} sec ${((Date.now()-t)/1000).toFixed(0)}`);
await writeGrid(`/tmp/tune-${variant}-${process.argv[6] ?? 'x'}.png`, all, { columns: per, scale: 2 });
