import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { seededDense } from '../testing/fixtures.js';
import { latestCheckpoint, readCheckpointMeta, restoreModel, writeCheckpoint } from './checkpoint.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('checkpoints', () => {
  it('writes complete step directories, keeps the newest, ignores and clears interrupted ones', async () => {
    await tf.setBackend('cpu');
    const dir = await mkdtemp(path.join(tmpdir(), 'ppgn-ckpt-'));
    dirs.push(dir);
    const m = seededDense(3, 2, 1);
    const meta = { who: 'test', seed: 1, fingerprint: { a: 1 }, state: { ratio: 0.5 }, iterations: { m: 3 } };
    const opt = { 'm/m/0': tf.ones([2]) };
    for (const step of [2, 4, 6]) await writeCheckpoint(dir, { step, models: { m }, optimizer: opt, meta }, 2);
    // an interrupted save: a temporary directory without a rename
    await mkdir(path.join(dir, '.step-00000008.tmp-1-abcd'), { recursive: true });
    await writeFile(path.join(dir, '.step-00000008.tmp-1-abcd', 'checkpoint.json'), '{');
    const latest = await latestCheckpoint(dir);
    expect(latest).toEqual({ path: path.join(dir, 'step-00000006'), step: 6 });
    expect(JSON.parse(await readFile(path.join(dir, 'latest.json'), 'utf8'))).toEqual({ step: 6, path: 'step-00000006' });
    const read = await readCheckpointMeta(latest!.path);
    expect(read).toMatchObject({ format: 'ppgn-training-checkpoint', version: 1, step: 6, models: ['m'], ...meta });
    // the same step again replaces it; leftovers go
    await writeCheckpoint(dir, { step: 6, models: { m }, optimizer: opt, meta }, 2);
    expect((await readdir(dir)).sort()).toEqual(['latest.json', 'step-00000004', 'step-00000006']);
    // weights come back by position into a model with other layer names
    const other = seededDense(3, 2, 2);
    await restoreModel(other, latest!.path, 'm', 'test');
    expect(Array.from(other.getWeights()[0]!.dataSync())).toEqual(Array.from(m.getWeights()[0]!.dataSync()));
    const wrong = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
    await expect(restoreModel(wrong, latest!.path, 'm', 'test')).rejects.toThrow(/weight 0 of m is \[3, 2\] but the model's .* is \[4, 2\]/);
    tf.dispose(Object.values(opt));
    for (const x of [m, other, wrong]) x.dispose();
  });
});
