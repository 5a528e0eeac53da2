import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel, saveJSON, writeGrid } from '@ppgn/core';
import { initBackend } from '@ppgn/backend';
import { facetStarts, layerActivations, neuronCondition } from '@ppgn/condition-neuron';
import { meanPairwiseDistance } from '@ppgn/eval';
import { type SamplerSettings, sample } from '@ppgn/sampler';
import { loadZoo, VARIANT_NAMES, ZOO_ENTRIES, type ZooEntry, type ZooVariant } from '@ppgn/zoo';
import * as tf from '@tensorflow/tfjs';
import { type CommandSpec, type ParsedFlags, UsageError } from '../args.js';
import { displayScale, writeChainGif } from '../outputs.js';

function parsePosition(flags: ParsedFlags): [number, number] | undefined {
  const raw = flags.position as string | undefined;
  if (raw === undefined) return undefined;
  const m = /^(\d+),(\d+)$/.exec(raw);
  if (!m) throw new UsageError(`--position: expected ROW,COL (e.g. 3,3), got '${raw}'`);
  return [Number(m[1]), Number(m[2])];
}

/** Where facet chains start: codes of clusters of the most exciting real images, or random codes. */
export const FACET_STARTS = ['real', 'random'] as const;
export type FacetStartKind = (typeof FACET_STARTS)[number];

export interface NeuronVisualization {
  model: string;
  layer: string;
  unit: number;
  position?: [number, number];
  starts: FacetStartKind;
  steps: number;
  /** The unit's activation on each facet. */
  facetActivations: number[];
  /** Facets whose unit stayed silent (activation <= 0). */
  silentFacets: number;
  /** With starts 'real': the unit's activation on G(start) of each facet. */
  startActivations?: number[];
  /** The unit's activation on the training images that excite it most, highest first. */
  topRealActivations: number[];
  topRealIndices: number[];
  /** Mean facet activation / mean top-real activation (null when the unit never fires on real images). */
  activationVsTopReal: number | null;
  /** Lowest facet activation / mean top-real activation. */
  weakestVsTopReal: number | null;
  /** Mean pairwise distance of the facets in the evaluator's feature space, and of the top real images. */
  facetDiversity: number;
  topRealDiversity: number;
  seconds: number;
}

export interface VisualizeOptions {
  layer: string;
  unit: number;
  position?: [number, number];
  facets: number;
  variant: ZooVariant;
  seed: number;
  steps?: number;
  topReal: number;
  /** Default 'real'. */
  starts?: FacetStartKind;
  /** The model whose unit is shown (any tfjs model taking the entry's images); default the entry's classifier. */
  model?: tf.LayersModel;
  /** Search only the first N training images for starts and top real images (default all). */
  trainImages?: number;
  /** Over the variant's settings (and the entry's tuned `neuron` settings). */
  settings?: Partial<SamplerSettings>;
}

/**
 * Multifaceted feature visualization: several chains, each from its own start, find images
 * that excite one hidden unit; beside them, the training images that excite it most. With
 * starts 'real' each facet starts from the mean code of a cluster of the most exciting
 * training images, so the unit fires from the first step (a silent ReLU has no gradient).
 */
export async function visualizeUnit(zoo: ZooEntry, options: VisualizeOptions) {
  const started = Date.now();
  const { layer, unit, position } = options;
  const model = options.model ?? zoo.classifier;
  const starts = options.starts ?? 'real';
  const condition = neuronCondition({ model, layer, unit, position, objective: 'activation' });
  const parts = zoo.variant(options.variant);
  const { train } = await zoo.spec.recipe.data();
  const trainImages = train.images({ start: 0, end: Math.min(train.size, options.trainImages ?? train.size) });
  let init: tf.Tensor | undefined;
  let startActivations: number[] | undefined;
  // The most exciting training images, highest first (facetStarts ranks them already).
  let topIndices: number[] = [];
  let topRealActivations: number[] = [];
  if (starts === 'real') {
    const pool = Math.max(10 * options.facets, options.topReal);
    const found = facetStarts({ model, layer, unit, position, images: trainImages, encoder: zoo.encoder, generator: parts.generator, facets: options.facets, pool, seed: options.seed });
    init = found.codes;
    startActivations = found.startActivations;
    topIndices = found.topIndices.slice(0, options.topReal);
    topRealActivations = found.topActivations.slice(0, options.topReal);
  } else {
    const realAct = layerActivations(model, layer, trainImages, { unit, position, batchSize: 500 });
    const { values, indices } = tf.topk(realAct as tf.Tensor1D, Math.min(options.topReal, trainImages.shape[0]));
    topIndices = Array.from(indices.dataSync());
    topRealActivations = Array.from(values.dataSync());
    tf.dispose([realAct, values, indices]);
  }
  const result = await sample({
    generator: parts.generator,
    prior: parts.prior,
    condition,
    variant: options.variant,
    batch: options.facets,
    seed: options.seed,
    clip: zoo.spec.clip,
    ...(zoo.spec.sampler.neuron ?? {}),
    ...options.settings,
    ...(options.steps ? { steps: options.steps } : {}),
    ...(init ? { init } : {}),
    keepTrace: false,
  });
  init?.dispose();
  const facetAct = layerActivations(model, layer, result.images, { unit, position });
  const top = tf.gather(trainImages, topIndices) as tf.Tensor4D;
  const evaluator = zoo.evaluator();
  const facetFeatures = evaluator.evaluate(result.images);
  const topFeatures = evaluator.evaluate(top);
  const facetActivations = Array.from(facetAct.dataSync());
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const topMean = mean(topRealActivations);
  const report: NeuronVisualization = {
    model: model.name,
    layer,
    unit,
    position,
    starts,
    steps: result.settings.steps,
    facetActivations,
    silentFacets: facetActivations.filter((a) => a <= 0).length,
    startActivations,
    topRealActivations,
    topRealIndices: topIndices,
    activationVsTopReal: topMean > 0 ? mean(facetActivations) / topMean : null,
    weakestVsTopReal: topMean > 0 ? Math.min(...facetActivations) / topMean : null,
    facetDiversity: meanPairwiseDistance(facetFeatures.features, facetFeatures.featureDim),
    topRealDiversity: meanPairwiseDistance(topFeatures.features, topFeatures.featureDim),
    seconds: (Date.now() - started) / 1000,
  };
  tf.dispose([trainImages, facetAct]);
  return { result, top, report };
}

/** One line on what the facets reached. */
export function visualizationSummary(report: NeuronVisualization): string {
  const where = `${report.layer}[${report.unit}]${report.position ? `@${report.position.join(',')}` : ''}`;
  const reach =
    report.activationVsTopReal === null
      ? 'the unit never fires on the training images'
      : `facets reach ${(report.activationVsTopReal * 100).toFixed(0)}% of the top real images' activation (weakest ${((report.weakestVsTopReal ?? 0) * 100).toFixed(0)}%), ${report.silentFacets} silent`;
  return `${where}: ${reach}; facet diversity ${report.facetDiversity.toFixed(1)} (top real ${report.topRealDiversity.toFixed(1)})`;
}

/** Writes facets.png, top-real.png, sheet.png (facets over top real), chain.gif and metrics.json. */
export async function writeVisualization(out: string, visual: Awaited<ReturnType<typeof visualizeUnit>>): Promise<void> {
  const { result, top, report } = visual;
  await mkdir(out, { recursive: true });
  const scale = displayScale(top.shape[1]);
  const facetLabels = report.facetActivations.map((a) => `act ${a.toFixed(1)}`);
  const topLabels = report.topRealActivations.map((a) => `real ${a.toFixed(1)}`);
  await writeGrid(join(out, 'facets.png'), result.images, { labels: facetLabels, scale });
  await writeGrid(join(out, 'top-real.png'), top, { labels: topLabels, scale });
  const columns = Math.max(result.images.shape[0], top.shape[0]);
  const pad = (t: tf.Tensor4D) => (t.shape[0] === columns ? tf.clone(t) : tf.concat([t, tf.zeros([columns - t.shape[0], ...t.shape.slice(1)])]));
  const sheet = tf.tidy(() => tf.concat([pad(result.images), pad(top)])) as tf.Tensor4D;
  const padLabels = (l: string[]) => [...l, ...new Array(columns - l.length).fill('')];
  await writeGrid(join(out, 'sheet.png'), sheet, { columns, labels: [...padLabels(facetLabels), ...padLabels(topLabels)], scale });
  sheet.dispose();
  await writeChainGif(join(out, 'chain.gif'), result.frames);
  await saveJSON(join(out, 'metrics.json'), report);
}

export const visualizeCommand: CommandSpec = {
  name: 'visualize',
  summary: 'what makes a hidden unit fire: several facets found by sampling, beside the real images that excite it most',
  usage: 'visualize --zoo mnist --layer NAME --unit K [--position ROW,COL] [--facets 8] [--starts real|random] [--model DIR] [--out DIR]',
  flags: {
    zoo: { type: 'string', help: 'zoo entry', choices: Object.keys(ZOO_ENTRIES), default: 'mnist' },
    layer: { type: 'string', help: 'layer of the condition classifier (e.g. conv2b, fc)' },
    unit: { type: 'integer', help: 'channel (conv) or unit (dense) index', min: 0 },
    position: { type: 'string', help: 'ROW,COL of a conv unit (default the centre)' },
    facets: { type: 'integer', help: 'number of facets (chains from different starts)', min: 1, max: 64, default: 8 },
    starts: { type: 'string', help: 'real: each facet starts from a cluster of the most exciting training images; random: random codes', choices: FACET_STARTS, default: 'real' },
    model: { type: 'string', help: "a tfjs model folder (model.json) to visualise instead of the entry's classifier; it must take the entry's images" },
    variant: { type: 'string', help: 'sampler variant', choices: VARIANT_NAMES, default: 'noiseless-joint-ppgn-h' },
    steps: { type: 'integer', help: 'sampler steps', min: 1 },
    eps1: { type: 'number', help: 'prior weight', min: 0 },
    lr: { type: 'number', help: 'step size', min: 0 },
    top: { type: 'integer', help: 'real images shown', min: 1, max: 64, default: 8 },
    'train-images': { type: 'integer', help: 'search only the first N training images (default all)', min: 1 },
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
    const model = flags.model === undefined ? undefined : await loadModel(flags.model as string);
    try {
      const visual = await visualizeUnit(zoo, {
        layer: flags.layer as string,
        unit: flags.unit as number,
        position,
        facets: flags.facets as number,
        variant: flags.variant as ZooVariant,
        seed: flags.seed as number,
        steps: flags.steps as number | undefined,
        topReal: flags.top as number,
        starts: flags.starts as FacetStartKind,
        model,
        trainImages: flags['train-images'] as number | undefined,
        settings: {
          ...(flags.eps1 !== undefined ? { eps1: flags.eps1 as number } : {}),
          ...(flags.lr !== undefined ? { lr: flags.lr as number } : {}),
        },
      });
      await writeVisualization(out, visual);
      visual.result.dispose();
      visual.top.dispose();
      console.log(`${visualizationSummary(visual.report)}; wrote ${out}`);
    } finally {
      model?.dispose();
      zoo.dispose();
    }
  },
};
