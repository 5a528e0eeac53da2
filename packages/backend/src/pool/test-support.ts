/**
 * Test support for the pool: its workers run dist/pool-worker.js (worker threads need plain JS),
 * so tests rebuild that one file when it is missing or older than the sources it bundles. The
 * full build (`pnpm --filter @ppgn/backend build`) makes it too.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function tsupCli(): string {
  const manifest = createRequire(join(root, 'package.json')).resolve('tsup/package.json');
  const bin = (JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> }).bin.tsup;
  if (!bin) throw new Error('tsup has no `tsup` bin');
  return join(dirname(manifest), bin);
}

export function ensurePoolWorkerBuilt(): void {
  const out = join(root, 'dist', 'pool-worker.js');
  const sources = ['src/pool', 'src/kernels', 'src/native'].map((d) => join(root, d)).filter(existsSync);
  const newest = Math.max(statSync(join(root, 'src', 'init.ts')).mtimeMs, ...sources.map(newestSource));
  if (existsSync(out) && statSync(out).mtimeMs >= newest) return;
  // only this entry, without the package config (whose `clean` would empty dist/)
  execFileSync(
    process.execPath,
    [
      tsupCli(),
      '--no-config',
      'src/pool/pool-worker.ts',
      '--format',
      'esm',
      '--target',
      'node20',
      '--sourcemap',
      '--out-dir',
      'dist',
    ],
    { cwd: root, stdio: 'pipe' },
  );
}

/** Test fixture modules (plain JS) by file name. */
export function fixture(name: string): URL {
  return new URL(`./fixtures/${name}`, import.meta.url);
}
