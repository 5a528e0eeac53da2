import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { saveJSON, writeGrid } from '@ppgn/core';
import { initBackend } from '@ppgn/backend';
import { loadZoo, sampleClass, ZOO_ENTRIES, type ZooVariant } from '@ppgn/zoo';
import * as tf from '@tensorflow/tfjs';
import type { CommandSpec } from '../args.js';
import { type GallerySection, writeGallery } from '../gallery.js';
import { displayScale, writeChainGif } from '../outputs.js';
import { resolveClass } from './sample.js';
import { evaluateOnEntry } from './shared.js';

export const demoCommand: CommandSpec = {
  name: 'demo',
  summary: 'sample every class of a zoo entry plus a chain that switches class, and write an HTML gallery',
  usage: 'demo [--zoo mnist] [--n 8] [--seed 1] [--out out]',
  flags: {
    zoo: { type: 'string', help: 'zoo entry', choices: Object.keys(ZOO_ENTRIES), default: 'mnist' },
    variant: { type: 'string', help: 'sampler variant', default: 'noiseless-joint-ppgn-h' },
    n: { type: 'integer', help: 'samples per class', min: 1, max: 64, default: 8 },
    from: { type: 'string', help: 'class the switching chain starts with', default: '3' },
    to: { type: 'string', help: 'class it switches to half-way', default: '8' },
    seed: { type: 'integer', help: 'random seed', default: 1 },
    out: { type: 'string', help: 'output directory', default: 'out' },
  },
  async run(flags) {
    const backend = await initBackend();
    const zoo = await loadZoo(flags.zoo as string);
    const out = flags.out as string;
    const variant = flags.variant as ZooVariant;
    const n = flags.n as number;
    const seed = flags.seed as number;
    await mkdir(out, { recursive: true });
    const started = Date.now();
    try {
      const perClass: tf.Tensor4D[] = [];
      const chainItems = [];
      for (let k = 0; k < zoo.classNames.length; k++) {
        const result = await sampleClass(zoo, { classIndex: k, variant, n, seed: seed + k });
        perClass.push(tf.clone(result.images));
        const gif = `chain-class-${zoo.classNames[k]}.gif`;
        await writeChainGif(join(out, gif), result.frames, { columns: n });
        chainItems.push({ title: `class ${zoo.classNames[k]}`, src: gif, caption: `${n} chains, ${result.settings.steps} steps` });
        result.dispose();
        console.error(`class ${zoo.classNames[k]} done (${((Date.now() - started) / 1000).toFixed(0)}s)`);
      }
      const all = tf.concat(perClass, 0) as tf.Tensor4D;
      tf.dispose(perClass);
      const labels = zoo.classNames.flatMap((c) => Array.from({ length: n }, (_, i) => (i === 0 ? `class ${c}` : '')));
      await writeGrid(join(out, 'classes.png'), all, { columns: n, labels, scale: displayScale(all.shape[1]) });

      const from = resolveClass(flags.from as string, zoo.classNames, '--from');
      const to = resolveClass(flags.to as string, zoo.classNames, '--to');
      const switched = await sampleClass(zoo, { classIndex: from, switchTo: to, variant, n, seed: seed + 100 });
      await writeChainGif(join(out, 'chain-switch.gif'), switched.frames, { columns: n });
      await writeGrid(join(out, 'switch-final.png'), switched.images, { columns: n, scale: displayScale(all.shape[1]) });
      const switchSteps = switched.settings.steps;
      switched.dispose();

      const intended = zoo.classNames.flatMap((_, k) => new Array(n).fill(k));
      const metrics = await evaluateOnEntry(zoo, all, intended);
      all.dispose();
      const seconds = (Date.now() - started) / 1000;
      await saveJSON(join(out, 'metrics.json'), { zoo: zoo.name, variant, backend, n, seed, seconds, metrics });

      const sections: GallerySection[] = [
        {
          title: `Every class (${variant})`,
          text: `${n} samples per class from the ${zoo.name} zoo entry, one row per class.`,
          items: [{ title: 'samples', src: 'classes.png' }],
          table: {
            header: ['metric', 'value'],
            rows: [
              ['evaluator accuracy for the intended class', `${(metrics.accuracy * 100).toFixed(1)}%`],
              ['Inception-style score', metrics.inceptionScore.toFixed(2)],
              ['Frechet distance to held-out images', metrics.frechetDistance.toFixed(2)],
              ['within-class diversity vs real', `${metrics.diversityVsReal.toFixed(2)}x`],
              ['median nearest-train distance (pixels)', metrics.nearestTrainPixel.toFixed(2)],
              ['median nearest-train distance (features)', metrics.nearestTrainFeature.toFixed(2)],
              ['samples', metrics.count],
              ['backend', backend],
              ['time', `${seconds.toFixed(0)} s`],
            ],
          },
        },
        { title: 'Sampling chains', text: 'Each frame shows every chain of a class at one step.', items: chainItems },
        {
          title: `A chain that switches class: ${zoo.classNames[from]} -> ${zoo.classNames[to]}`,
          text: `The condition changes from class ${zoo.classNames[from]} to ${zoo.classNames[to]} half-way through ${switchSteps} steps; the chains keep going and morph.`,
          items: [
            { title: 'chain', src: 'chain-switch.gif' },
            { title: 'final images', src: 'switch-final.png' },
          ],
        },
      ];
      const file = await writeGallery(out, `ppgn.js demo: ${zoo.name}`, `Plug & Play Generative Networks on the ${zoo.name} zoo entry, sampled on ${backend}.`, sections);
      console.log(`wrote ${file} (${seconds.toFixed(0)} s); accuracy ${(metrics.accuracy * 100).toFixed(1)}%`);
    } finally {
      zoo.dispose();
    }
  },
};
