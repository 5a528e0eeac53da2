import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ppgn/backend';
import { loadModel, writeGrid } from '@ppgn/core';
import { classCondition, encoderAt } from '@ppgn/condition-classifier';
import { dgnGenerator } from '@ppgn/generator';
import { jointPrior } from '@ppgn/priors';
import { sample } from '@ppgn/sampler';
import { createEvaluator } from '@ppgn/eval';
await initBackend();
const ck = process.argv[2];
const c = await loadModel('models/mnist/classifier');
const ev = createEvaluator({ model: await loadModel('models/mnist/evaluator'), featureLayer: 'features' });
const E = encoderAt(c, 'fc');
const G = dgnGenerator(await loadModel(ck));
const variant = (process.argv[3] ?? 'dgn-am') as any;
const objective = variant === 'dgn-am' ? 'logit' : (process.argv[5] ?? 'log-softmax') as any;
const overrides = JSON.parse(process.argv[4] ?? '{}');
let all: tf.Tensor4D[] = []; let correct = 0;
const t = Date.now();
for (let k = 0; k < 10; k++) {
  const cond = classCondition({ model: c, classIndex: k, objective });
  const r = await sample({ generator: G, condition: cond, prior: variant.includes('joint') ? jointPrior({ encoder: E }) : undefined, variant, batch: 8, seed: 1, clip: [0, 30], keepTrace: false, ...overrides });
  const out = ev.evaluate(r.images);
  for (let i = 0; i < 8; i++) { let best = 0; for (let j = 1; j < 10; j++) if (out.probs[i*10+j] > out.probs[i*10+best]) best = j; if (best === k) correct++; }
  all.push(tf.clone(r.images)); r.dispose();
}
console.log(variant, JSON.stringify(overrides), 'evaluator acc', correct / 80, 'sec', (Date.now()-t)/1000);
const grid = tf.concat(all, 0) as tf.Tensor4D;
await writeGrid(`/tmp/exp-${variant}.png`, grid, { columns: 8, scale: 2 });
