import { join } from 'node:path';
import { createProgress, type Progress, saveJSON } from '@ppgn/core';
import type { Frame } from '@ppgn/sampler';
import type { Tensor4D } from '@tensorflow/tfjs';
import { initBackend } from '@ppgn/backend';
import {
  CAPTION_STARTS,
  CAPTION_VARIANTS,
  type CaptionStart,
  type CaptionVariant,
  captionParts,
  captionSampling,
  captionVariant,
  evaluateCaption,
  loadZoo,
  parseShapesCaption,
  sampleCaption,
  sampleClass,
  VARIANT_NAMES,
  ZOO_ENTRIES,
  type ZooEntry,
  type ZooVariant,
} from '@ppgn/zoo';
import { type CommandSpec, type ParsedFlags, UsageError } from '../args.js';
import { writeChainGif, writeEachPng, writeLabelledGrid } from '../outputs.js';
import { evaluateOnEntry } from './shared.js';

function settingsFromFlags(flags: ParsedFlags) {
  const out: Record<string, number> = {};
  for (const key of ['eps1', 'eps2', 'eps3', 'lr', 'steps'] as const) {
    if (flags[key] !== undefined) out[key] = flags[key] as number;
  }
  if (flags['save-every'] !== undefined) out.saveEvery = flags['save-every'] as number;
  return out;
}

export const sampleCommand: CommandSpec = {
  name: 'sample',
  summary: 'sample images of a class (five PPGN variants) or of a caption (shapes) from a zoo entry',
  usage:
    'sample --zoo mnist --class 3 [--variant noiseless-joint-ppgn-h] [--n 16] [--seed 1] [--out DIR] [--eval]\n' +
    '       sample --zoo shapes --caption "a red circle above a blue square" [--variant ppgn-h|dgn-am|joint-ppgn-h|noiseless-joint-ppgn-h] [--start noise|scenes] [--restarts N] [--n 16] [--eval]',
  flags: {
    zoo: { type: 'string', help: 'zoo entry', choices: Object.keys(ZOO_ENTRIES), default: 'mnist' },
    class: { type: 'string', help: 'class index or name' },
    caption: { type: 'string', help: 'sample this caption instead of a class (entries with a captioner: shapes)' },
    'switch-to': { type: 'string', help: 'switch the condition to this class mid-chain' },
    start: {
      type: 'string',
      help: "captions: chains start from h ~ N(0, 1) ('noise') or from codes of random training scenes ('scenes'); default the entry's setting",
      choices: CAPTION_STARTS,
    },
    restarts: {
      type: 'integer',
      help: "captions: chains per sample, keeping the one most likely under the caption; default the entry's setting",
      min: 1,
      max: 64,
    },
    variant: { type: 'string', help: "sampler variant (default noiseless-joint-ppgn-h; captions: the entry's caption variant)", choices: VARIANT_NAMES },
    n: { type: 'integer', help: 'number of chains (images)', min: 1, max: 1024, default: 16 },
    seed: { type: 'integer', help: 'random seed', default: 1 },
    steps: { type: 'integer', help: 'sampler steps (default: the variant preset)', min: 1 },
    eps1: { type: 'number', help: 'prior weight', min: 0 },
    eps2: { type: 'number', help: 'condition weight', min: 0 },
    eps3: { type: 'number', help: 'noise standard deviation', min: 0 },
    lr: { type: 'number', help: 'step size', min: 0 },
    'save-every': { type: 'integer', help: 'frame every N steps for the GIF', min: 1 },
    out: { type: 'string', help: 'output directory', default: 'out/sample' },
    eval: {
      type: 'boolean',
      help: 'write metrics.json (classes: evaluator accuracy, IS, Frechet distance, diversity, neighbours; captions: agreement of the attribute evaluator with every attribute)',
    },
  },
  async run(flags) {
    if (flags.caption !== undefined) {
      if (flags.class !== undefined || flags['switch-to'] !== undefined) throw new UsageError('--caption cannot be combined with --class or --switch-to');
      return runCaption(flags);
    }
    for (const flag of ['start', 'restarts'] as const) {
      if (flags[flag] !== undefined) throw new UsageError(`--${flag} goes with --caption`);
    }
    if (flags.class === undefined) throw new UsageError('--class (a class index or name) or --caption is required');
    const backend = await initBackend();
    const zoo = await loadZoo(flags.zoo as string);
    try {
      const classArg = flags.class as string;
      const classIndex = resolveClass(classArg, zoo.classNames, '--class');
      const switchTo = flags['switch-to'] === undefined ? undefined : resolveClass(flags['switch-to'] as string, zoo.classNames, '--switch-to');
      const n = flags.n as number;
      const variant = (flags.variant ?? 'noiseless-joint-ppgn-h') as ZooVariant;
      const out = flags.out as string;
      const settings = settingsFromFlags(flags);
      const label = `sample ${zoo.name} class ${zoo.classNames[classIndex]} (${variant}, ${backend})`;
      let progress: Progress | undefined;
      const result = await sampleClass(zoo, {
        classIndex,
        switchTo,
        variant,
        n,
        seed: flags.seed as number,
        settings,
        onStep: ({ step, steps }) => {
          progress ??= createProgress(label, steps);
          progress.update(step + 1);
        },
      });
      progress?.finish();
      try {
        const summary: Record<string, unknown> = {
          zoo: zoo.name,
          class: zoo.classNames[classIndex],
          switchTo: switchTo === undefined ? undefined : zoo.classNames[switchTo],
          variant,
          n,
          seed: flags.seed,
          backend,
          settings: result.settings,
          logProb: result.logProb,
        };
        if (flags.eval) {
          const intended = new Array(n).fill(switchTo ?? classIndex);
          summary.metrics = await evaluateOnEntry(zoo, result.images, intended);
        }
        const labels = (result.logProb ?? []).map((lp, i) => `${i} logp ${lp.toFixed(2)}`);
        await writeSampleFiles(out, result, labels, summary, flags.eval === true);
      } finally {
        result.dispose();
      }
    } finally {
      zoo.dispose();
    }
  },
};

/** `sample --caption`: chains steered by log p(caption | x), written like class samples. */
async function runCaption(flags: ParsedFlags): Promise<void> {
  const caption = flags.caption as string;
  const requested = flags.variant as string | undefined;
  if (requested !== undefined && !(CAPTION_VARIANTS as readonly string[]).includes(requested)) {
    throw new UsageError(`--variant: captions are sampled with ${CAPTION_VARIANTS.join(', ')}, got '${requested}'`);
  }
  // With --eval the caption must follow the entry's grammar: fail before sampling.
  const parsed = flags.eval ? parseShapesCaption(caption) : undefined;
  const backend = await initBackend();
  const zoo: ZooEntry = await loadZoo(flags.zoo as string);
  try {
    captionParts(zoo).condition(caption).dispose();
    const variant = captionVariant(zoo, requested);
    const n = flags.n as number;
    const out = flags.out as string;
    const sampling = captionSampling(zoo, { start: flags.start as CaptionStart | undefined, restarts: flags.restarts as number | undefined });
    let progress: Progress | undefined;
    const result = await sampleCaption(zoo, {
      caption,
      variant: variant as CaptionVariant,
      n,
      seed: flags.seed as number,
      settings: settingsFromFlags(flags),
      ...sampling,
      onStep: ({ step, steps }) => {
        progress ??= createProgress(`sample ${zoo.name} caption "${caption}" (${variant}, ${backend})`, steps);
        progress.update(step + 1);
      },
    });
    progress?.finish();
    try {
      const evaluation = parsed ? evaluateCaption(zoo, parsed, result.images) : undefined;
      const labels = (result.logProb ?? []).map((lp, i) => `${i} logp ${lp.toFixed(1)}${evaluation ? (evaluation.perImage[i]!.all ? ' ok' : ' no') : ''}`);
      const summary: Record<string, unknown> = {
        zoo: zoo.name,
        caption,
        variant,
        n,
        seed: flags.seed,
        backend,
        ...sampling,
        settings: result.settings,
        logProb: result.logProb,
      };
      if (evaluation) {
        summary.metrics = {
          captionAgreement: evaluation.rates.all,
          perAttribute: evaluation.rates,
          predictedObjects: evaluation.predicted.map((list) => list.map((o) => `${o.size} ${o.color} ${o.shape} at (${o.x.toFixed(1)}, ${o.y.toFixed(1)})`)),
        };
        console.log(`caption agreement (attribute evaluator, every attribute): ${(evaluation.rates.all * 100).toFixed(1)}% of ${n}`);
      }
      await writeSampleFiles(out, result, labels, summary, flags.eval === true);
    } finally {
      result.dispose();
    }
  } finally {
    zoo.dispose();
  }
}

/** A PNG per sample, grid.png (labelled), chain.gif, and metrics.json (with --eval) or summary.json. */
async function writeSampleFiles(
  out: string,
  result: { images: Tensor4D; frames: readonly Frame[] },
  labels: string[],
  summary: Record<string, unknown>,
  evaluated: boolean,
): Promise<void> {
  const files = await writeEachPng(out, result.images);
  await writeLabelledGrid(join(out, 'grid.png'), result.images, labels);
  await writeChainGif(join(out, 'chain.gif'), result.frames);
  await saveJSON(join(out, evaluated ? 'metrics.json' : 'summary.json'), { ...summary, files: files.length });
  console.log(`wrote ${files.length} PNGs, grid.png and chain.gif to ${out}`);
}

/** A class given by index or name, checked against the entry's classes. */
export function resolveClass(value: string, classNames: readonly string[], flag: string): number {
  const byName = classNames.indexOf(value);
  if (byName >= 0) return byName;
  const index = Number(value);
  if (Number.isInteger(index) && index >= 0 && index < classNames.length) return index;
  throw new UsageError(`${flag}: unknown class '${value}'; classes are 0..${classNames.length - 1} (${classNames.join(', ')})`);
}
