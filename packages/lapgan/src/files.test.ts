import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPyramid, readPyramidManifest, savePyramid } from './files.js';
import { assemblePyramid, createPyramid } from './level.js';
import { samplePyramid } from './sample.js';
import { BACKENDS, maxDiff, tinyConfig, useBackend } from './test-helpers.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lapgan-files-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface LooseManifest {
  format: unknown;
  channels: unknown;
  levels: { spec: Record<string, unknown> }[];
}

async function editManifest(dir: string, edit: (m: LooseManifest) => void): Promise<void> {
  const file = path.join(dir, 'pyramid.json');
  const m = JSON.parse(await readFile(file, 'utf8')) as LooseManifest;
  edit(m);
  await writeFile(file, JSON.stringify(m));
}

for (const backend of BACKENDS) {
  describe(`pyramid files (${backend})`, () => {
    it('round-trips a pyramid: same manifest, same samples, with or without D', async () => {
      await useBackend(backend);
      const dir = path.join(root, `${backend}-round`);
      const pyramid = createPyramid(tinyConfig({ classNames: ['a', 'b', 'c'] }), { seed: 6 });
      pyramid.levels[1]!.info.steps = 12;
      pyramid.levels[1]!.info.source = 'toy';
      const file = await savePyramid(pyramid, dir);
      expect(file).toBe(path.join(dir, 'pyramid.json'));
      const manifest = await readPyramidManifest(dir);
      expect(manifest).toMatchObject({ sizes: [4, 8, 16], channels: 3, numClasses: 3, classNames: ['a', 'b', 'c'] });
      expect(manifest.levels.map((l) => l.dir)).toEqual(['level-0', 'level-1', 'level-2']);
      const loaded = await loadPyramid(dir);
      expect(loaded.levels[1]!.info).toEqual({ steps: 12, source: 'toy' });
      expect(loaded.levels.every((l) => l.hasDiscriminators)).toBe(true);
      const a = samplePyramid({ pyramid, n: 3, seed: 2 });
      const b = samplePyramid({ pyramid: loaded, n: 3, seed: 2 });
      expect(maxDiff(a.images, b.images)).toBe(0);
      const gOnly = await loadPyramid(dir, { discriminators: false });
      expect(gOnly.levels.some((l) => l.hasDiscriminators)).toBe(false);
      const c = samplePyramid({ pyramid: gOnly, n: 3, seed: 2 });
      expect(maxDiff(a.images, c.images)).toBe(0);
      // a G-only pyramid saves as such
      const dir2 = path.join(root, `${backend}-gonly`);
      await savePyramid(gOnly, dir2);
      expect((await readPyramidManifest(dir2)).levels.every((l) => !l.discriminators)).toBe(true);
      for (const s of [a, b, c]) s.dispose();
      for (const p of [pyramid, loaded, gOnly]) p.dispose();
    });

    it('saves float16 weights for shipping: half the bytes, samples within float16 rounding', async () => {
      await useBackend(backend);
      const pyramid = createPyramid(tinyConfig(), { seed: 4 });
      const full = path.join(root, `${backend}-f32`);
      const half = path.join(root, `${backend}-f16`);
      await savePyramid(pyramid, full, { discriminators: false });
      await savePyramid(pyramid, half, { discriminators: false, float16: true });
      const bytes = async (dir: string) => {
        const g = path.join(dir, 'level-2', 'g');
        const spec = JSON.parse(await readFile(path.join(g, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
        return (await readFile(path.join(g, spec.weightsManifest[0]!.paths[0]!))).length;
      };
      expect(await bytes(half)).toBe((await bytes(full)) / 2);
      const start = tf.memory().numTensors;
      const loaded = await loadPyramid(half);
      const a = samplePyramid({ pyramid, n: 4, seed: 3 });
      const b = samplePyramid({ pyramid: loaded, n: 4, seed: 3 });
      const diff = maxDiff(a.images, b.images);
      expect(diff).toBeGreaterThan(0);
      expect(diff).toBeLessThan(0.02);
      a.dispose();
      b.dispose();
      loaded.dispose();
      expect(tf.memory().numTensors).toBe(start);
      pyramid.dispose();
    });

    it('round-trips per-class levels and chained pyramids', async () => {
      await useBackend(backend);
      const a = createPyramid(tinyConfig({ perClass: true, numClasses: 2, sizes: [4, 8] }), { seed: 1 });
      const b = createPyramid(tinyConfig({ numClasses: 0, sizes: [4, 8] }), { seed: 2 });
      const chained = assemblePyramid([a.levels[0]!, b.levels[1]!]);
      const dir = path.join(root, `${backend}-chained`);
      await savePyramid(chained, dir);
      const loaded = await loadPyramid(dir);
      const x = samplePyramid({ pyramid: chained, n: 2, classIndex: [1, 0], seed: 3 });
      const y = samplePyramid({ pyramid: loaded, n: 2, classIndex: [1, 0], seed: 3 });
      expect(maxDiff(x.images, y.images)).toBe(0);
      x.dispose();
      y.dispose();
      for (const p of [a, b, loaded]) p.dispose();
    });

    it('names the level and the values when levels do not fit together', async () => {
      await useBackend(backend);
      const dir = path.join(root, `${backend}-bad`);
      const pyramid = createPyramid(tinyConfig(), { seed: 1 });
      await savePyramid(pyramid, dir);
      pyramid.dispose();
      const original = await readFile(path.join(dir, 'pyramid.json'), 'utf8');
      const restore = () => writeFile(path.join(dir, 'pyramid.json'), original);

      await editManifest(dir, (m) => {
        m.levels[2]!.spec.inputSize = 6;
      });
      await expect(loadPyramid(dir)).rejects.toThrow(/level 2 \(refine 6x6 -> 16x16\) takes 6x6 images but level 1 \(refine 4x4 -> 8x8\) makes 8x8/);
      await restore();
      await editManifest(dir, (m) => {
        m.levels[1]!.spec.channels = 1;
      });
      await expect(loadPyramid(dir)).rejects.toThrow(/level 1 \(refine 4x4 -> 8x8\) has 1 channel\(s\) but level 0 has 3/);
      await restore();
      await editManifest(dir, (m) => {
        m.levels[2]!.spec.numClasses = 4;
      });
      await expect(loadPyramid(dir)).rejects.toThrow(/level 2 \(refine 8x8 -> 16x16\) has 4 classes but level 0 has 3/);
      await restore();
      await editManifest(dir, (m) => {
        m.channels = 1;
      });
      await expect(loadPyramid(dir)).rejects.toThrow(/the pyramid says 1 channel\(s\) but level 0 has 3/);
      await restore();
      // the manifest and the saved model disagree
      await editManifest(dir, (m) => {
        m.levels[1]!.spec.gFilters = [16];
      });
      await expect(loadPyramid(dir)).rejects.toThrow(
        /level 1: refine 4x4 -> 8x8: G in .*level-1[/\\]g does not match the level's spec: weight \d+ is g_conv1\/kernel \[3, 3, 5, 8\], expected g_conv1\/kernel \[3, 3, 5, 16\]/,
      );
      await restore();
      await editManifest(dir, (m) => {
        m.format = 'something-else';
      });
      await expect(loadPyramid(dir)).rejects.toThrow(/format is "something-else"/);
      await restore();
      const tensors = tf.memory().numTensors;
      const ok = await loadPyramid(dir);
      ok.dispose();
      expect(tf.memory().numTensors).toBe(tensors);
    });

    it("reports missing and corrupted files with core's errors, freeing what was loaded", async () => {
      await useBackend(backend);
      const dir = path.join(root, `${backend}-broken`);
      const pyramid = createPyramid(tinyConfig(), { seed: 1 });
      await savePyramid(pyramid, dir);
      pyramid.dispose();
      const before = tf.memory().numTensors;
      await expect(loadPyramid(path.join(root, 'nowhere'))).rejects.toThrow(/loadJSON: cannot read .*nowhere[/\\]pyramid.json: no such file/);
      const modelJson = path.join(dir, 'level-2', 'd', 'model.json');
      const json = JSON.parse(await readFile(modelJson, 'utf8'));
      const bin = path.join(dir, 'level-2', 'd', json.weightsManifest[0].paths[0]);
      await truncate(bin, 10);
      await expect(loadPyramid(dir)).rejects.toThrow(/loadModel: .*level-2[/\\]d[/\\]model\.[0-9a-f]+\.bin has 10 bytes but .* \(file truncated\?\)/);
      // G alone still loads
      (await loadPyramid(dir, { discriminators: false })).dispose();
      await rm(path.join(dir, 'level-1', 'g', 'model.json'));
      await expect(loadPyramid(dir)).rejects.toThrow(/level 1: .*level-1[/\\]g[/\\]model\.json does not exist/);
      await writeFile(path.join(dir, 'pyramid.json'), '{ not json');
      await expect(loadPyramid(dir)).rejects.toThrow(/pyramid\.json is not valid JSON/);
      expect(tf.memory().numTensors).toBe(before);
    });
  });
}
