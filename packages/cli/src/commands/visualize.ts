import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { saveJSON, writeGrid } from '@ppgn/core';
import { initBackend } from '@ppgn/backend';
import { layerActivations, neuronCondition } from '@ppgn/condition-neuron';
import { meanPairwiseDistance } from '@ppgn/eval';
import { sample } from '@ppgn/sampler';
import { loadZoo, VARIANT_NAMES, ZOO_ENTRIES, type ZooEntry, type ZooVariant } from '@ppgn/zoo';
import * as tf from '@tensorflow/tfjs';
import { type CommandSpec, type ParsedFlags, UsageError } from '../args.js';
import { displayScale, writeChainGif } from '../outputs.js';

export interface NeuronVisualization {
  layer: string;
  unit: number;
  position?: [number, number];
  /** The unit's activation on each facet. */
  facetActivations: number[];
  /** The unit's activation on the training images that excite it most, highest first. */
  topRealActivations: number[];
  topRealIndices: number[];
  /** Mean facet activation / mean top-real activation (null when the unit never fires on real images). */
  activationVsTopReal: number | null;
  /** Mean pairwise distance of the facets in the evaluator's feature space, and of the top real images. */
  facetDiversity: number;
  topRealDiversity: number;
}

function parsePosition(flags: ParsedFlags): [number, number] | undefined {
  const raw = flags.position as string | undefined;
  if (raw === undefined) return undefined;
  const m = /^(\d+),(\d+)$/.exec(raw);
  if (!m) throw new UsageError(`--position: expected ROW,COL (e.g. 3,3), got '${raw}'`);
  return [Number(m[1]), Number(m[2])];
}

/**
 * Multifaceted feature visualization: several chains from different random starts each
 * find an image that excites one hidden unit; beside them, the training images that
 * excite it most.
 */
export async function visualizeUnit(
  zoo: ZooEntry,
  options: { layer: string; unit: number; position?: [number, number]; facets: number; variant: ZooVariant; seed: number; steps?: number; topReal: number },
) {
  const { layer, unit, position } = options;
  const condition = neuronCondition({ model: zoo.classifier, layer, unit, position, objective: 'activation' });
  const parts = zoo.variant(options.variant);
  const result = await sample({
    generator: parts.generator,
    prior: parts.prior,
    condition,
    variant: options.variant,
    batch: options.facets,
    seed: options.seed,
    clip: zoo.spec.clip,
    ...(options.steps ? { steps: options.steps } : {}),
    keepTrace: false,
  });
  const { train } = await zoo.spec.recipe.data();
  const trainImages = train.images({ start: 0, end: train.size });
  const facetAct = layerActivations(zoo.classifier, layer, result.images, { unit, position });
  const realAct = layerActivations(zoo.classifier, layer, trainImages, { unit, position, batchSize: 500 });
  const { values, indices } = tf.topk(realAct as tf.Tensor1D, options.topReal);
  const top = tf.gather(trainImages, indices) as tf.Tensor4D;
  const evaluator = zoo.evaluator();
  const facetFeatures = evaluator.evaluate(result.images);
  const topFeatures = evaluator.evaluate(top);
  const facetActivations = Array.from(facetAct.dataSync());
  const topRealActivations = Array.from(values.dataSync());
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const report: NeuronVisualization = {
    layer,
    unit,
    position,
    facetActivations,
    topRealActivations,
    topRealIndices: Array.from(indices.dataSync()),
    activationVsTopReal: mean(topRealActivations) > 0 ? mean(facetActivations) / mean(topRealActivations) : null,
    facetDiversity: meanPairwiseDistance(facetFeatures.features, facetFeatures.featureDim),
    topRealDiversity: meanPairwiseDistance(topFeatures.features, topFeatures.featureDim),
  };
  tf.dispose([trainImages, facetAct, realAct, values, indices]);
  return { result, top, report };
}

export const visualizeCommand: CommandSpec = {
  name: 'visualize',
  summary: 'what makes a hidden unit fire: several facets found by sampling, beside the real images that excite it most',
  usage: 'visualize --zoo mnist --layer NAME --unit K [--position ROW,COL] [--facets 8] [--out DIR]',
  flags: {
    zoo: { type: 'string', help: 'zoo entry', choices: Object.keys(ZOO_ENTRIES), default: 'mnist' },
    layer: { type: 'string', help: 'layer of the condition classifier (e.g. conv2b, fc)' },
    unit: { type: 'integer', help: 'channel (conv) or unit (dense) index', min: 0 },
    position: { type: 'string', help: 'ROW,COL of a conv unit (default the centre)' },
    facets: { type: 'integer', help: 'number of facets (chains from different starts)', min: 1, max: 64, default: 8 },
    variant: { type: 'string', help: 'sampler variant', choices: VARIANT_NAMES, default: 'noiseless-joint-ppgn-h' },
    steps: { type: 'integer', help: 'sampler steps', min: 1 },
    top: { type: 'integer', help: 'real images shown', min: 1, max: 64, default: 8 },
    seed: { type: 'integer', help: 'random seed', default: 1 },
    out: { type: 'string', help: 'output directory', default: 'out/visualize' },
  },
  async run(flags) {
    if (flags.layer === undefined) throw new UsageError('--layer is required');
    if (flags.unit === undefined) throw new UsageError('--unit is required');
    const position = parsePosition(flags);
    await initBackend();
    const zoo = await loadZoo(flags.zoo as string);
    const out = flags.out as string;
    try {
      const { result, top, report } = await visualizeUnit(zoo, {
        layer: flags.layer as string,
        unit: flags.unit as number,
        position,
        facets: flags.facets as number,
        variant: flags.variant as ZooVariant,
        seed: flags.seed as number,
        steps: flags.steps as number | undefined,
        topReal: flags.top as number,
      });
      await mkdir(out, { recursive: true });
      const scale = displayScale(top.shape[1]);
      await writeGrid(join(out, 'facets.png'), result.images, { labels: report.facetActivations.map((a) => `act ${a.toFixed(1)}`), scale });
      await writeGrid(join(out, 'top-real.png'), top, { labels: report.topRealActivations.map((a) => `act ${a.toFixed(1)}`), scale });
      await writeChainGif(join(out, 'chain.gif'), result.frames);
      await saveJSON(join(out, 'metrics.json'), report);
      result.dispose();
      top.dispose();
      console.log(
        `${report.layer}[${report.unit}]: ${report.activationVsTopReal === null ? 'the unit never fires on the training images' : `facets reach ${(report.activationVsTopReal * 100).toFixed(0)}% of the top real images' activation`}; facet diversity ${report.facetDiversity.toFixed(2)} (top real ${report.topRealDiversity.toFixed(2)}); wrote ${out}`,
      );
    } finally {
      zoo.dispose();
    }
  },
};
