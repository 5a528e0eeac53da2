import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { saveJSON, writeGrid } from '@ppgn/core';
import { initBackend } from '@ppgn/backend';
import { evaluateCaption, loadZoo, sampleCaption, sampleClass, ZOO_ENTRIES, type ZooVariant } from '@ppgn/zoo';
import * as tf from '@tensorflow/tfjs';
import { type CommandSpec, UsageError } from '../args.js';
import { type GallerySection, writeGallery } from '../gallery.js';
import { displayScale, writeChainGif, writeLabelledGrid } from '../outputs.js';
import { evaluateInpainting, writeEvaluationSheet } from './inpaint.js';
import { resolveClass } from './sample.js';
import { evaluateOnEntry } from './shared.js';
import { visualizationSummary, visualizeUnit, writeVisualization } from './visualize.js';

/** `fc/5,conv2b/7` -> [{ layer: 'fc', unit: 5 }, { layer: 'conv2b', unit: 7 }] */
function parseUnits(raw: string): Array<{ layer: string; unit: number }> {
  if (raw.trim() === '') return [];
  return raw.split(',').map((part) => {
    const m = /^([\w.-]+)\/(\d+)$/.exec(part.trim());
    if (!m) throw new UsageError(`--units: expected LAYER/UNIT[,LAYER/UNIT...] (e.g. fc/5,conv2b/7), got '${part}'`);
    return { layer: m[1]!, unit: Number(m[2]) };
  });
}

export const demoCommand: CommandSpec = {
  name: 'demo',
  summary: 'sample every class of a zoo entry, a chain that switches class, facets of hidden units, inpainting and (with a captioner) captions, and write an HTML gallery',
  usage: 'demo [--zoo mnist] [--n 8] [--units fc/5,conv2b/7] [--inpaint-images 24] [--captions "A;B"] [--seed 1] [--out out]',
  flags: {
    zoo: { type: 'string', help: 'zoo entry', choices: Object.keys(ZOO_ENTRIES), default: 'mnist' },
    variant: { type: 'string', help: 'sampler variant', default: 'noiseless-joint-ppgn-h' },
    n: { type: 'integer', help: 'samples per class', min: 1, max: 64, default: 8 },
    from: { type: 'string', help: 'class the switching chain starts with', default: '3' },
    to: { type: 'string', help: 'class it switches to half-way', default: '8' },
    units: { type: 'string', help: 'hidden units shown as facets, LAYER/UNIT,...', default: 'fc/5,conv2b/7' },
    'inpaint-images': { type: 'integer', help: 'held-out images with a random square hole', min: 1, max: 200, default: 24 },
    captions: {
      type: 'string',
      help: "captions sampled on entries with a captioner (shapes), separated by ';'",
      default: 'a red circle above a blue square;a large green circle;a white triangle below a red circle',
    },
    seed: { type: 'integer', help: 'random seed', default: 1 },
    out: { type: 'string', help: 'output directory', default: 'out' },
  },
  async run(flags) {
    const units = parseUnits(flags.units as string);
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

      // Facets of hidden units, beside the training images that excite them most.
      const facetItems = [];
      const facetRows: Array<Array<string | number>> = [];
      for (const { layer, unit } of units) {
        const visual = await visualizeUnit(zoo, { layer, unit, facets: n, variant, seed, topReal: n });
        const dir = `facets-${layer}-${unit}`;
        await writeVisualization(join(out, dir), visual);
        const r = visual.report;
        facetItems.push({ title: `${layer}[${unit}]`, src: `${dir}/sheet.png`, caption: `top: ${n} facets with the unit's activation; bottom: the ${n} training images that excite it most` });
        facetRows.push([
          `${layer}[${unit}]`,
          r.topRealActivations[0]!.toFixed(2),
          `${((r.activationVsTopReal ?? 0) * 100).toFixed(0)}%`,
          `${((r.weakestVsTopReal ?? 0) * 100).toFixed(0)}%`,
          r.silentFacets,
          r.facetDiversity.toFixed(1),
          r.topRealDiversity.toFixed(1),
        ]);
        visual.result.dispose();
        visual.top.dispose();
        console.error(`${visualizationSummary(r)} (${((Date.now() - started) / 1000).toFixed(0)}s)`);
      }

      // Inpainting held-out images with a random square hole.
      const inpaintCount = flags['inpaint-images'] as number;
      const inpainted = await evaluateInpainting(zoo, { count: inpaintCount, variant, seed, useClass: false });
      await writeEvaluationSheet(join(out, 'inpaint.png'), inpainted.sheet, 8, displayScale(all.shape[1]));
      tf.dispose(Object.values(inpainted.sheet));
      const im = inpainted.metrics;
      console.error(`inpainting done (${((Date.now() - started) / 1000).toFixed(0)}s)`);

      // Captions, on entries that have a captioner: samples judged by the attribute evaluator.
      const captionItems = [];
      const captionRows: string[][] = [];
      const captions = zoo.captions ? (flags.captions as string).split(';').map((c) => c.trim()).filter((c) => c !== '') : [];
      for (const [i, caption] of captions.entries()) {
        const sampled = await sampleCaption(zoo, { caption, n, seed: seed + 200 + i });
        try {
          const judged = evaluateCaption(zoo, caption, sampled.images);
          const file = `caption-${i}.png`;
          await writeLabelledGrid(join(out, file), sampled.images, judged.perImage.map((a) => (a.all ? 'ok' : 'no')), n);
          captionItems.push({ title: caption, src: file, caption: `${n} samples; "ok": the attribute evaluator finds every attribute of the caption` });
          const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
          captionRows.push([caption, pct(judged.rates.all), pct(judged.rates.objects), pct(judged.rates.relation)]);
        } finally {
          sampled.dispose();
        }
        console.error(`caption "${caption}" done (${((Date.now() - started) / 1000).toFixed(0)}s)`);
      }

      const intended = zoo.classNames.flatMap((_, k) => new Array(n).fill(k));
      const metrics = await evaluateOnEntry(zoo, all, intended);
      all.dispose();
      const seconds = (Date.now() - started) / 1000;
      await saveJSON(join(out, 'metrics.json'), { zoo: zoo.name, variant, backend, n, seed, seconds, metrics, inpainting: im });

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
        {
          title: 'Facets of hidden units',
          text: `Multifaceted neuron visualization: each of ${n} chains starts from the mean code of its own cluster of the training images that excite the unit most, then climbs the unit's activation under the prior. Diversity is the mean pairwise distance in the evaluator's feature space.`,
          items: facetItems,
          table: {
            header: ['unit', 'top real activation', 'facets / top real (mean)', 'weakest facet / top real', 'silent facets', 'facet diversity', 'top-real diversity'],
            rows: facetRows,
          },
        },
        {
          title: 'Inpainting',
          text: `${im.images} held-out images, each with a hole (${im.hole}), filled with no class given. Columns: masked input, the sampler's completion, the training mean image pasted in, the nearest training image (judged on the known pixels) pasted in, the original.`,
          items: [{ title: 'masked | sampler | mean fill | nearest train | original', src: 'inpaint.png' }],
          table: {
            header: ['fill', 'MSE inside the hole', 'evaluator accuracy'],
            rows: [
              ['sampler', im.holeMse.sampler.toFixed(3), `${(im.evaluatorAccuracy.sampler * 100).toFixed(1)}%`],
              ['mean image', im.holeMse.meanFill.toFixed(3), `${(im.evaluatorAccuracy.meanFill * 100).toFixed(1)}%`],
              ['nearest training image', im.holeMse.nearestTrain.toFixed(3), `${(im.evaluatorAccuracy.nearestTrain * 100).toFixed(1)}%`],
              ['original (no hole)', '0', `${(im.evaluatorAccuracy.original * 100).toFixed(1)}%`],
            ],
          },
        },
      ];
      if (captionItems.length > 0) {
        sections.push({
          title: 'Captions',
          text: `Chains steered by the captioner's log p(caption | x) through the scene generator and its h prior, started from codes of random training scenes. A separate attribute evaluator checks each sample against every attribute of the caption (objects, sizes, relation).`,
          items: captionItems,
          table: { header: ['caption', 'every attribute', 'objects', 'relation'], rows: captionRows },
        });
      }
      const file = await writeGallery(out, `ppgn.js demo: ${zoo.name}`, `Plug & Play Generative Networks on the ${zoo.name} zoo entry, sampled on ${backend}.`, sections);
      console.log(`wrote ${file} (${seconds.toFixed(0)} s); accuracy ${(metrics.accuracy * 100).toFixed(1)}%`);
    } finally {
      zoo.dispose();
    }
  },
};
