import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gridLayout, readPng } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPyramid } from './files.js';
import { createPyramid } from './level.js';
import { sampleToFiles, trainPyramid } from './pipeline.js';
import { BACKENDS, tinyConfig, toyData, useBackend } from './test-helpers.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lapgan-pipeline-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

for (const backend of BACKENDS) {
  describe(`pipeline (${backend})`, () => {
    it('trains every level into a directory, level by level, resumably', async () => {
      await useBackend(backend);
      const data = toyData(8, 8, 1, 2);
      const config = tinyConfig({ sizes: [4, 8], channels: 1, numClasses: 2, classNames: ['left', 'right'] });
      const outDir = path.join(root, `${backend}-train`);
      const common = { config, data, outDir, stepsPerLevel: 2, batchSize: 4, progress: false } as const;
      // one level now (as a separate process would), the other later
      const part = await trainPyramid({ ...common, levels: [1] });
      expect(part.pyramid).toBeNull();
      expect(part.missing).toEqual([0]);
      await expect(access(path.join(outDir, 'pyramid.json'))).rejects.toThrow();
      const full = await trainPyramid({ ...common, levels: [0] });
      expect(full.missing).toEqual([]);
      expect(full.trained.map((t) => [t.level, t.step, t.resumedFrom])).toEqual([[0, 2, null]]);
      expect(full.manifest).toBe(path.join(outDir, 'pyramid.json'));
      expect(full.pyramid!.levels.map((l) => l.info.steps)).toEqual([2, 2]);
      const loaded = await loadPyramid(outDir);
      expect(loaded.classNames).toEqual(['left', 'right']);
      // running again resumes every finished level and trains nothing
      const again = await trainPyramid(common);
      expect(again.trained.map((t) => t.resumedFrom)).toEqual([2, 2]);
      expect(again.trained.every((t) => Number.isNaN(t.msPerStep))).toBe(true);
      for (const p of [full.pyramid!, loaded, again.pyramid!]) p.dispose();
      data.images.dispose();
    });

    it('writes a PNG per sample and a grid of every level', async () => {
      await useBackend(backend);
      const pyramid = createPyramid(tinyConfig({ classNames: ['a', 'b', 'c'] }), { seed: 1 });
      const outDir = path.join(root, `${backend}-samples`);
      const before = tf.memory().numTensors;
      const files = await sampleToFiles({ pyramid, n: 3, seed: 1, outDir, extend: 20 });
      expect(tf.memory().numTensors).toBe(before);
      expect(files.samples.map((f) => path.basename(f))).toEqual(['sample-000.png', 'sample-001.png', 'sample-002.png']);
      const sample = await readPng(files.samples[1]!);
      expect(sample.shape).toEqual([20, 20, 3]);
      const grid = await readPng(files.grid);
      const layout = gridLayout(12, [20, 20, 3], { columns: 4, scale: 3, labels: Array(12).fill('x'), rowLabels: ['a', 'b', 'c'] });
      expect(grid.shape).toEqual([layout.height, layout.width, 3]);
      tf.dispose([sample, grid]);
      pyramid.dispose();
    });
  });
}
