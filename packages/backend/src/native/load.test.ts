import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNativeTensorFlow } from './load.js';

function resolvable(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}
const installed = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'].find(resolvable);

describe('loadNativeTensorFlow without a binding', () => {
  let empty: string;
  const saved = { dir: process.env.PPGN_NATIVE_DIR, native: process.env.PPGN_NATIVE };
  beforeAll(() => {
    empty = mkdtempSync(join(tmpdir(), 'ppgn-native-empty-'));
    process.env.PPGN_NATIVE_DIR = empty;
  });
  afterAll(() => {
    rmSync(empty, { recursive: true, force: true });
    for (const [k, v] of [['PPGN_NATIVE_DIR', saved.dir], ['PPGN_NATIVE', saved.native]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it.skipIf(installed)(`returns a clean one-line reason when nothing is built${installed ? ` (skipped: ${installed} is installed)` : ''}`, async () => {
    delete process.env.PPGN_NATIVE;
    const t0 = performance.now();
    const r = await loadNativeTensorFlow();
    const ms = performance.now() - t0;
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toContain('no native binding');
    expect(r.reason).toContain(empty);
    expect(r.reason).toContain('ppgn native');
    expect(r.reason).not.toContain('\n');
    expect(ms).toBeLessThan(500);
  });

  it('is disabled by PPGN_NATIVE=0', async () => {
    process.env.PPGN_NATIVE = '0';
    expect(await loadNativeTensorFlow()).toEqual({ ok: false, reason: 'native TensorFlow disabled by PPGN_NATIVE=0' });
  });

  it('ignores a build directory with an unreadable manifest', async () => {
    delete process.env.PPGN_NATIVE;
    const bad = join(empty, '9.9.9-0.0.0');
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(bad);
    writeFileSync(join(bad, 'manifest.json'), '{ not json');
    const r = await loadNativeTensorFlow();
    expect(r.ok).toBe(false);
  });
});
