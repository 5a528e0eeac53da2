import { initBackend } from '@ppgn/backend';
import { trainEntry, ZOO_ENTRIES } from '@ppgn/zoo';
import { type CommandSpec, UsageError } from '../args.js';

export const trainCommand: CommandSpec = {
  name: 'train',
  summary: 'train a zoo entry with its recipe (resumable: rerun to continue from the last checkpoint)',
  usage: 'train <entry> [--stage NAME ...] [--force] [--steps-scale X]',
  positionals: ['entry'],
  flags: {
    stage: { type: 'string', help: 'only this stage (repeatable); default: every part not trained yet', multiple: true },
    force: { type: 'boolean', help: 'retrain parts that exist (the old part is replaced only when the new one is saved)' },
    'steps-scale': { type: 'number', help: 'multiply every stage\'s steps (e.g. 0.01 for a smoke run)', min: 0, default: 1 },
  },
  async run(flags, positionals) {
    const entry = positionals[0];
    if (entry === undefined) throw new UsageError(`missing <entry>; entries are ${Object.keys(ZOO_ENTRIES).join(', ')}`);
    const spec = ZOO_ENTRIES[entry];
    if (!spec) throw new UsageError(`unknown entry '${entry}'; entries are ${Object.keys(ZOO_ENTRIES).join(', ')}`);
    const backend = await initBackend();
    console.error(`training ${entry} on ${backend}`);
    await trainEntry(spec.recipe, {
      backend,
      stages: flags.stage as string[] | undefined,
      force: flags.force as boolean | undefined,
      stepsScale: flags['steps-scale'] as number,
    });
  },
};
