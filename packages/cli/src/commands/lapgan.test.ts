import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../test-support.js';


describe('ppgn lapgan on the shipped mnist parts', () => {
  let dir: string;
  beforeAll(() => {
    process.env.PPGN_BACKEND ??= 'wasm';
    process.env.PPGN_QUIET = '1';
    dir = mkdtempSync(join(tmpdir(), 'ppgn-lapgan-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sample writes a PNG per sample, the levels grid and metrics; the same seed gives the same files', async () => {
    const out = join(dir, 'a');
    const r = await run(['lapgan', 'sample', '--zoo', 'mnist', '--class', '3', '--n', '3', '--seed', '5', '--out', out, '--eval']);
    expect(r.code, r.err).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['levels.png', 'metrics.json', 'sample-000.png', 'sample-001.png', 'sample-002.png']);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics).toMatchObject({ entry: 'mnist', model: 'lapgan', class: '3', n: 3 });
    expect(metrics.metrics.count).toBe(3);
    expect(metrics.metrics.accuracy).toBeGreaterThanOrEqual(0);
    const again = join(dir, 'b');
    expect((await run(['lapgan', 'sample', '--zoo', 'mnist', '--class', '3', '--n', '3', '--seed', '5', '--out', again])).code).toBe(0);
    for (const f of ['sample-000.png', 'sample-002.png', 'levels.png']) {
      expect(readFileSync(join(again, f)).equals(readFileSync(join(out, f))), f).toBe(true);
    }
    const gan = join(dir, 'gan');
    expect((await run(['lapgan', 'sample', '--zoo', 'mnist', '--class', '7', '--n', '2', '--model', 'gan', '--out', gan])).code).toBe(0);
    expect(readdirSync(gan).sort()).toEqual(['levels.png', 'sample-000.png', 'sample-001.png']);
  });

  it('names bad subcommands, entries and classes', async () => {
    expect((await run(['lapgan', 'fly'])).err).toMatch(/unknown subcommand 'fly'; use train, sample, compare/);
    const bad = await run(['lapgan', 'sample', '--zoo', 'mnist', '--class', '12', '--out', join(dir, 'x')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--class: unknown class '12'; classes are 0..9/);
    const entry = await run(['lapgan', 'train', 'cifar']);
    expect(entry.code).toBe(2);
    expect(entry.err).toMatch(/unknown entry 'cifar'; entries are mnist, shapes/);
  });

  it('compare writes the table (real images, LAPGAN, baseline), metrics and every sheet', async () => {
    const out = join(dir, 'compare');
    const r = await run(['lapgan', 'compare', '--entry', 'mnist', '--per-class', '2', '--sheets', '3', '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(readdirSync(out).sort()).toEqual([
      'levels-mnist.png',
      'metrics.json',
      'nn-features-mnist-gan.png',
      'nn-features-mnist-lapgan.png',
      'nn-pixel-mnist-gan.png',
      'nn-pixel-mnist-lapgan.png',
      'samples-mnist-gan.png',
      'samples-mnist-lapgan.png',
      'table.md',
    ]);
    const table = readFileSync(join(out, 'table.md'), 'utf8');
    expect(table).toMatch(/\| mnist \| real test images \|/);
    expect(table).toMatch(/\| mnist \| LAPGAN \|/);
    expect(table).toMatch(/\| mnist \| single-scale GAN \|/);
    const saved = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(saved.results.mnist.map((row: { metrics: { count: number } }) => row.metrics.count)).toEqual([1000, 20, 20, 20, 20]);
  });
});
