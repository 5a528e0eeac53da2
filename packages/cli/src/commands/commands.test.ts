import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeGif } from '@ppgn/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../test-support.js';


describe('ppgn commands on the shipped zoo', () => {
  let dir: string;
  beforeAll(() => {
    process.env.PPGN_BACKEND ??= 'wasm';
    process.env.PPGN_QUIET = '1';
    dir = mkdtempSync(join(tmpdir(), 'ppgn-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sample writes a PNG per sample, a labelled grid, the chain GIF and metrics', async () => {
    const out = join(dir, 'sample');
    const r = await run(['sample', '--zoo', 'mnist', '--class', '3', '--variant', 'noiseless-joint-ppgn-h', '--n', '3', '--steps', '8', '--save-every', '4', '--seed', '2', '--out', out, '--eval']);
    expect(r.err).not.toMatch(/ppgn sample:/);
    expect(r.code, r.err).toBe(0);
    const files = readdirSync(out);
    expect(files.filter((f) => /^sample-\d{3}\.png$/.test(f))).toHaveLength(3);
    expect(files).toContain('grid.png');
    const gif = decodeGif(readFileSync(join(out, 'chain.gif')));
    expect(gif.frames).toHaveLength(3); // steps 0, 4, 8
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.class).toBe('3');
    expect(metrics.metrics.count).toBe(3);
    expect(metrics.metrics.accuracy).toBeGreaterThanOrEqual(0);
  });

  it('names the bad flag and the allowed values', async () => {
    const bad = await run(['sample', '--zoo', 'mnist', '--class', '3', '--variant', 'ppgn-z']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("--variant: 'ppgn-z' is not allowed; use one of dgn-am, ppgn-x, ppgn-h, joint-ppgn-h, noiseless-joint-ppgn-h");
    const cls = await run(['sample', '--zoo', 'mnist', '--class', '12', '--out', join(dir, 'x')]);
    expect(cls.code).toBe(2);
    expect(cls.err).toContain("--class: unknown class '12'; classes are 0..9");
    expect(existsSync(join(dir, 'x'))).toBe(false);
    const help = await run(['sample', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('--variant <dgn-am|ppgn-x|ppgn-h|joint-ppgn-h|noiseless-joint-ppgn-h>');
  });

  it('sample --caption passes --start and --restarts to the sampler; bad values name the flag', async () => {
    const caption = ['sample', '--zoo', 'shapes', '--caption', 'a red circle above a blue square', '--n', '2', '--steps', '2', '--seed', '3'];
    const summaryOf = (out: string) => JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    const byDefault = await run([...caption, '--out', join(dir, 'caption-default')]);
    expect(byDefault.code, byDefault.err).toBe(0);
    // the entry's settings: shapes chains start from training scenes, one chain per sample
    expect(summaryOf(join(dir, 'caption-default'))).toMatchObject({ start: 'scenes', restarts: 1 });
    const best = await run([...caption, '--start', 'scenes', '--restarts', '3', '--out', join(dir, 'caption-best')]);
    expect(best.code, best.err).toBe(0);
    const one = summaryOf(join(dir, 'caption-default'));
    const three = summaryOf(join(dir, 'caption-best'));
    expect(three).toMatchObject({ start: 'scenes', restarts: 3 });
    expect(three.logProb).toHaveLength(2);
    // sample i keeps the likeliest of its 3 chains, the first of which is the single chain of the default run
    for (const [i, lp] of three.logProb.entries()) expect(lp).toBeGreaterThanOrEqual(one.logProb[i] - 1e-3);
    const sum = (list: number[]) => list.reduce((a, b) => a + b, 0);
    expect(sum(three.logProb)).toBeGreaterThan(sum(one.logProb) + 1); // and the other chains did win
    const noise = await run([...caption, '--start', 'noise', '--out', join(dir, 'caption-noise')]);
    expect(noise.code, noise.err).toBe(0);
    expect(summaryOf(join(dir, 'caption-noise'))).toMatchObject({ start: 'noise', restarts: 1 });
    expect(readFileSync(join(dir, 'caption-noise', 'sample-000.png')).equals(readFileSync(join(dir, 'caption-default', 'sample-000.png')))).toBe(false);

    const start = await run([...caption, '--start', 'middle']);
    expect(start.code).toBe(2);
    expect(start.err).toContain("--start: 'middle' is not allowed; use one of noise, scenes");
    const restarts = await run([...caption, '--restarts', '0']);
    expect(restarts.code).toBe(2);
    expect(restarts.err).toContain('--restarts: 0 is out of range [1, 64]');
    const withClass = await run(['sample', '--zoo', 'mnist', '--class', '3', '--restarts', '2']);
    expect(withClass.code).toBe(2);
    expect(withClass.err).toContain('--restarts goes with --caption');
  });

  it('sample --caption takes the joint caption variant and refuses variants captions have no parts for', async () => {
    const caption = ['sample', '--zoo', 'shapes', '--caption', 'a red triangle', '--n', '2', '--steps', '2', '--seed', '3'];
    const out = join(dir, 'caption-joint');
    const joint = await run([...caption, '--variant', 'joint-ppgn-h', '--out', out]);
    expect(joint.code, joint.err).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toMatchObject({ variant: 'joint-ppgn-h', settings: { variant: 'joint-ppgn-h' } });
    const pixels = await run([...caption, '--variant', 'ppgn-x']);
    expect(pixels.code).toBe(2);
    expect(pixels.err).toContain("--variant: captions are sampled with ppgn-h, dgn-am, joint-ppgn-h, noiseless-joint-ppgn-h, got 'ppgn-x'");
  });

  it('eval writes the table with the real baseline and each variant asked for', async () => {
    const out = join(dir, 'eval');
    const r = await run(['eval', '--zoo', 'mnist', '--per-class', '2', '--steps', '4', '--variant', 'dgn-am', '--sheets', '2', '--out', out]);
    expect(r.code, r.err).toBe(0);
    const table = readFileSync(join(out, 'table.md'), 'utf8');
    expect(table).toMatch(/\| real test images \|/);
    expect(table).toMatch(/\| dgn-am \|/);
    expect(readdirSync(out)).toEqual(expect.arrayContaining(['dgn-am-grid.png', 'dgn-am-neighbours-pixel.png', 'dgn-am-neighbours-feature.png', 'metrics.json']));
  });

  it('visualize writes facets, the top real images and their activations', async () => {
    const out = join(dir, 'visualize');
    const r = await run(['visualize', '--zoo', 'mnist', '--layer', 'conv2b', '--unit', '7', '--facets', '2', '--steps', '6', '--top', '3', '--train-images', '2000', '--out', out]);
    expect(r.code, r.err).toBe(0);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.facetActivations).toHaveLength(2);
    // every facet starts where the unit already fires (a silent ReLU has no gradient)
    expect(metrics.starts).toBe('real');
    for (const a of metrics.startActivations) expect(a).toBeGreaterThan(0);
    expect(metrics.topRealActivations).toHaveLength(3);
    // the top real images are sorted, highest first
    expect(metrics.topRealActivations[0]).toBeGreaterThanOrEqual(metrics.topRealActivations[2]);
    expect(readdirSync(out)).toEqual(expect.arrayContaining(['facets.png', 'top-real.png', 'sheet.png', 'chain.gif']));
    const bad = await run(['visualize', '--zoo', 'mnist', '--layer', 'fc9', '--unit', '0', '--out', out]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/fc9.*conv1/);
    const range = await run(['visualize', '--zoo', 'mnist', '--layer', 'fc', '--unit', '999', '--out', out]);
    expect(range.err).toContain("unit 999 is out of range; layer 'fc' has 256 units, 0..255");
    const position = await run(['visualize', '--zoo', 'mnist', '--layer', 'conv2b', '--unit', '7', '--position', '14,0', '--out', out]);
    expect(position.err).toContain("position [14,0] is outside layer 'conv2b', whose output is 14x14");
  });

  it('inpaint writes masked | results | original, and measures against the baselines', async () => {
    const out = join(dir, 'inpaint');
    const r = await run(['inpaint', '--zoo', 'mnist', '--index', '0', '--mask', 'left', '--class', '7', '--n', '2', '--steps', '3', '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(readdirSync(out)).toContain('inpaint.png');
    const e = await run(['inpaint', '--zoo', 'mnist', '--evaluate', '4', '--steps', '3', '--start', 'mean', '--use-label', '--out', out]);
    expect(e.code, e.err).toBe(0);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.start).toBe('mean');
    expect(metrics.conditionedOnOwnLabel).toBe(true);
    expect(metrics.settings.steps).toBe(3);
    for (const k of ['sampler', 'meanFill', 'nearestTrain']) expect(metrics.holeMse[k]).toBeGreaterThan(0);
    expect(metrics.evaluatorAccuracy.original).toBeGreaterThan(0.5);
    const both = await run(['inpaint', '--zoo', 'mnist', '--index', '0', '--evaluate', '4']);
    expect(both.code).toBe(2);
    expect(both.err).toContain('give exactly one of --image FILE, --index N or --evaluate COUNT');
    const label = await run(['inpaint', '--zoo', 'mnist', '--index', '0', '--use-label']);
    expect(label.code).toBe(2);
    expect(label.err).toContain('--use-label goes with --evaluate');
  });
});
