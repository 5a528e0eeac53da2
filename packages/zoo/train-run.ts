import { initBackend } from '@ppgn/backend';
import { ZOO_ENTRIES } from './src/entries.js';
import { trainEntry } from './src/recipes/recipe.js';
const backend = await initBackend();
const [entry, ...stages] = process.argv.slice(2);
const force = stages.includes("--force");
const only = stages.filter((s) => s !== "--force");
await trainEntry(ZOO_ENTRIES[entry!]!.recipe, { backend, force, stages: only.length ? only : undefined });
