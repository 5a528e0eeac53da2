import { initBackend } from '@ppgn/backend';
import { createSampleEvaluation } from '@ppgn/eval';
import { loadZoo } from './src/index.js';
await initBackend();
const zoo = await loadZoo(process.argv[2]!);
const { train, test } = await zoo.spec.recipe.data();
const ev = createSampleEvaluation({ evaluator: zoo.evaluator(), test: { images: test.images({ start: 0, end: 1000 }), labels: test.labels.slice(0, 1000) }, train: train.images({ start: 0, end: 2000 }) });
console.log(JSON.stringify(ev.realBaseline()));
