import { join } from 'node:path';
import { createProgress, type Progress, saveJSON } from '@ppgn/core';
import { initBackend } from '@ppgn/backend';
import { loadZoo, sampleClass, VARIANT_NAMES, ZOO_ENTRIES, type ZooVariant } from '@ppgn/zoo';
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
  summary: 'sample images of a class from a zoo entry with one of the five PPGN variants',
  usage: 'sample --zoo mnist --class 3 [--variant noiseless-joint-ppgn-h] [--n 16] [--seed 1] [--out DIR] [--eval]',
  flags: {
    zoo: { type: 'string', help: 'zoo entry', choices: Object.keys(ZOO_ENTRIES), default: 'mnist' },
    class: { type: 'string', help: 'class index or name' },
    'switch-to': { type: 'string', help: 'switch the condition to this class mid-chain' },
    variant: { type: 'string', help: 'sampler variant', choices: VARIANT_NAMES, default: 'noiseless-joint-ppgn-h' },
    n: { type: 'integer', help: 'number of chains (images)', min: 1, max: 1024, default: 16 },
    seed: { type: 'integer', help: 'random seed', default: 1 },
    steps: { type: 'integer', help: 'sampler steps (default: the variant preset)', min: 1 },
    eps1: { type: 'number', help: 'prior weight', min: 0 },
    eps2: { type: 'number', help: 'condition weight', min: 0 },
    eps3: { type: 'number', help: 'noise standard deviation', min: 0 },
    lr: { type: 'number', help: 'step size', min: 0 },
    'save-every': { type: 'integer', help: 'frame every N steps for the GIF', min: 1 },
    out: { type: 'string', help: 'output directory', default: 'out/sample' },
    eval: { type: 'boolean', help: 'write metrics.json (evaluator accuracy, IS, Frechet distance, diversity, neighbours)' },
  },
  async run(flags) {
    if (flags.class === undefined) throw new UsageError('--class is required (a class index or name)');
    const backend = await initBackend();
    const zoo = await loadZoo(flags.zoo as string);
    try {
      const classArg = flags.class as string;
      const classIndex = resolveClass(classArg, zoo.classNames, '--class');
      const switchTo = flags['switch-to'] === undefined ? undefined : resolveClass(flags['switch-to'] as string, zoo.classNames, '--switch-to');
      const n = flags.n as number;
      const variant = flags.variant as ZooVariant;
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
        const files = await writeEachPng(out, result.images);
        const labels = (result.logProb ?? []).map((lp, i) => `${i} logp ${lp.toFixed(2)}`);
        await writeLabelledGrid(join(out, 'grid.png'), result.images, labels);
        await writeChainGif(join(out, 'chain.gif'), result.frames);
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
          files: files.length,
        };
        if (flags.eval) {
          const intended = new Array(n).fill(switchTo ?? classIndex);
          summary.metrics = await evaluateOnEntry(zoo, result.images, intended);
        }
        await saveJSON(join(out, flags.eval ? 'metrics.json' : 'summary.json'), summary);
        console.log(`wrote ${files.length} PNGs, grid.png and chain.gif to ${out}`);
      } finally {
        result.dispose();
      }
    } finally {
      zoo.dispose();
    }
  },
};

/** A class given by index or name, checked against the entry's classes. */
export function resolveClass(value: string, classNames: readonly string[], flag: string): number {
  const byName = classNames.indexOf(value);
  if (byName >= 0) return byName;
  const index = Number(value);
  if (Number.isInteger(index) && index >= 0 && index < classNames.length) return index;
  throw new UsageError(`${flag}: unknown class '${value}'; classes are 0..${classNames.length - 1} (${classNames.join(', ')})`);
}
