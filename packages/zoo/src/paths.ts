import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's `models/` folder (beside `dist/` and `src/`). */
export function modelsRoot(): string {
  return process.env.PPGN_ZOO_DIR ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', 'models');
}

export function entryDir(entry: string): string {
  return join(modelsRoot(), entry);
}

/** Where training keeps checkpoints (not shipped): `$PPGN_ZOO_WORK` or `.zoo-work/` at the package root. */
export function workRoot(): string {
  return process.env.PPGN_ZOO_WORK ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '.zoo-work');
}

export function partExists(entry: string, part: string): boolean {
  return existsSync(join(entryDir(entry), part, 'model.json'));
}
