import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { shapes } from '@ppgn/data';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captionLogProb } from './captioner.js';
import { greedyCaption } from './decode.js';
import { loadCaptioner, saveCaptioner } from './files.js';
import { evaluateCaptioner, trainCaptioner } from './train-captioner.js';
import { BACKENDS, maxDiff, tinyCaptioner, useBackend } from './test-helpers.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'ppgn-captioner-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const data = shapes({ size: 48, seed: 11 });

for (const backend of BACKENDS) {
  describe(`trainCaptioner on ${backend}`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    it('a few steps lower the loss on a tiny shapes set, leaking no tensors', async () => {
      const c = tinyCaptioner(21);
      const images = data.images({ start: 0, end: data.size });
      const set = { images, captions: data.captions };
      const before = evaluateCaptioner(c, set);
      const tensors = tf.memory().numTensors;
      const result = await trainCaptioner({
        captioner: c,
        data: set,
        steps: 25,
        batchSize: 8,
        seed: 1,
        optimizer: { learningRate: 1e-2 },
        progress: false,
      });
      expect(tf.memory().numTensors).toBe(tensors);
      expect(result.step).toBe(25);
      expect(result.history).toHaveLength(25);
      const after = evaluateCaptioner(c, set);
      // chance is log(19) = 2.94 nats per token; the grammar alone gets well below it
      expect(before.tokenLoss).toBeGreaterThan(2.5);
      expect(after.tokenLoss).toBeLessThan(before.tokenLoss - 0.3);
      expect(after.wordAccuracy).toBeGreaterThan(before.wordAccuracy + 0.1);
      const first = result.history.slice(0, 5).reduce((a, l) => a + l.loss!, 0) / 5;
      const last = result.history.slice(-5).reduce((a, l) => a + l.loss!, 0) / 5;
      expect(last).toBeLessThan(first - 0.2);
      for (const l of result.history) expect(Object.keys(l).sort()).toEqual(['accuracy', 'gradNorm', 'loss']);
      images.dispose();
      c.dispose();
    });
  });
}

describe('trainCaptioner checkpoints and captioner files', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('resumes from a checkpoint to the same weights as an uninterrupted run', async () => {
    // images read through a function (a dataset's `images` method)
    const set = { images: (idx: number[]) => data.images(idx), captions: data.captions };
    const opts = { data: set, batchSize: 8, seed: 3, checkpointEvery: 3, progress: false as const };
    const full = tinyCaptioner(31);
    await trainCaptioner({ ...opts, captioner: full, steps: 6, checkpointDir: await tempDir() });
    const dir = await tempDir();
    const part = tinyCaptioner(31);
    await trainCaptioner({ ...opts, captioner: part, steps: 3, checkpointDir: dir });
    part.dispose();
    const resumed = tinyCaptioner(99); // other initial weights: all of them come from the checkpoint
    const r = await trainCaptioner({ ...opts, captioner: resumed, steps: 6, checkpointDir: dir });
    expect(r.startStep).toBe(3);
    const weights = (c: typeof full) => [...c.encoder.getWeights(), ...c.decoder.getWeights()];
    weights(full).forEach((w, i) => {
      expect(maxDiff(w.dataSync(), weights(resumed)[i]!.dataSync())).toBe(0);
    });
    // a different setup is refused
    const other = tinyCaptioner(31);
    await expect(trainCaptioner({ ...opts, batchSize: 4, captioner: other, steps: 9, checkpointDir: dir })).rejects.toThrow(
      /different setup \(batchSize: checkpoint 8, now 4\)/,
    );
    for (const c of [full, resumed, other]) c.dispose();
  });

  it('refuses data that does not fit', async () => {
    const c = tinyCaptioner(41, 3);
    const images = tf.zeros([2, 32, 32, 3]) as tf.Tensor4D;
    await expect(trainCaptioner({ captioner: c, data: { images, captions: ['a circle'] }, steps: 1, progress: false })).rejects.toThrow(
      'trainCaptioner: 2 images but 1 captions',
    );
    await expect(
      trainCaptioner({ captioner: c, data: { images, captions: ['a circle', 'a red sqare'] }, steps: 1, progress: false }),
    ).rejects.toThrow(`unknown word 'sqare'`);
    await expect(
      trainCaptioner({ captioner: c, data: { images, captions: ['a circle', 'a small red square'] }, steps: 1, progress: false }),
    ).rejects.toThrow('trainCaptioner: caption 1: "a small red square" has 4 words; the captioner takes at most 3');
    images.dispose();
    c.dispose();
  });

  it('saves and loads a captioner with equal log-probabilities and captions', async () => {
    const c = tinyCaptioner(51);
    const dir = path.join(await tempDir(), 'captioner');
    await saveCaptioner(c, dir);
    expect((await readdir(dir)).sort()).toEqual(['captioner.json', 'decoder', 'encoder', 'vocabulary.json']);
    const back = await loadCaptioner(dir);
    expect(back.config).toEqual(c.config);
    expect(back.vocabulary.tokens).toEqual(c.vocabulary.tokens);
    const x = data.images({ start: 0, end: 4 });
    const caps = data.captions.slice(0, 4);
    expect(maxDiff(captionLogProb(c, x, caps).dataSync(), captionLogProb(back, x, caps).dataSync())).toBe(0);
    expect(greedyCaption(back, x)).toEqual(greedyCaption(c, x));
    await expect(loadCaptioner(path.join(dir, 'encoder'))).rejects.toThrow(/captioner\.json: no such file/);
    x.dispose();
    c.dispose();
    back.dispose();
  });
});
