import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadJSON, loadModel, loadWeights, saveJSON, saveModel, saveWeights, writeFileAtomic } from './model-files.js';

// Fault injection: a write that stops part-way, or a rename that never happens (a crash).
const faults = vi.hoisted(() => ({ writeLimitBytes: -1, failRename: null as RegExp | null }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    open: async (...args: Parameters<typeof real.open>) => {
      const handle = await real.open(...args);
      if (faults.writeLimitBytes >= 0 && args[1] === 'w') {
        let written = 0;
        const write = handle.write.bind(handle) as (b: Uint8Array, o: number, l: number) => Promise<{ bytesWritten: number }>;
        (handle as unknown as { write: unknown }).write = async (buf: Uint8Array, offset: number, length: number) => {
          if (written + length > faults.writeLimitBytes) {
            await write(buf, offset, faults.writeLimitBytes - written);
            throw new Error('simulated crash mid-write');
          }
          written += length;
          return write(buf, offset, length);
        };
      }
      return handle;
    },
    rename: async (from: string, to: string) => {
      if (faults.failRename?.test(to)) throw new Error(`simulated crash before rename to ${to}`);
      return real.rename(from, to);
    },
  };
});

let root: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(path.join(os.tmpdir(), 'ppgn-model-files-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
afterEach(() => {
  faults.writeLimitBytes = -1;
  faults.failRename = null;
});

let dirCount = 0;
function freshDir(): string {
  return path.join(root, `m${dirCount++}`);
}

function tinyModel(seed: number): tf.LayersModel {
  const init = (s: number) => tf.initializers.randomNormal({ seed: seed * 10 + s, stddev: 0.5 });
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, activation: 'relu', kernelInitializer: init(1), biasInitializer: init(2) }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: init(3), biasInitializer: init(4) }));
  return model;
}

const input = () => tf.tensor4d(Array.from({ length: 2 * 36 }, (_, i) => Math.sin(i)), [2, 6, 6, 1]);

function predict(model: tf.LayersModel): number[] {
  return tf.tidy(() => Array.from((model.predict(input()) as tf.Tensor).dataSync()));
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = (await readFile(path.join(dir, name))).toString('base64');
  return out;
}

async function manifestOf(dir: string): Promise<{ weightsManifest: Array<{ paths: string[]; weights: Array<{ name: string; shape: number[] }> }> } & Record<string, unknown>> {
  return JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'));
}

/** A saved model plus its predictions, in a fresh directory. */
async function savedModel(seed = 1): Promise<{ dir: string; expected: number[] }> {
  const model = tinyModel(seed);
  const dir = freshDir();
  await saveModel(model, dir);
  const expected = predict(model);
  model.dispose();
  return { dir, expected };
}

async function expectLoads(dir: string, expected: number[]): Promise<void> {
  const loaded = await loadModel(dir);
  expect(predict(loaded)).toEqual(expected);
  loaded.dispose();
}

describe('saveModel / loadModel', () => {
  it('round-trips a model: same predictions, standard tfjs files, metadata kept, no leaks', async () => {
    const before = tf.memory().numTensors;
    const model = tinyModel(1);
    const dir = freshDir();
    const saved = await saveModel(model, dir, { recipe: 'test', step: 7 });
    const expected = predict(model);

    const files = (await readdir(dir)).sort();
    expect(files).toEqual(['model.json', path.basename(saved.weights)].sort());
    expect(path.basename(saved.weights)).toMatch(/^model\.[0-9a-f]{16}\.bin$/);
    const json = await manifestOf(dir);
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0]!.paths).toEqual([path.basename(saved.weights)]);
    expect(json.weightsManifest[0]!.weights.map((w) => w.name)).toEqual(model.weights.map((w) => w.originalName));
    expect((await readFile(saved.weights)).byteLength).toBe(saved.weightBytes);
    expect(saved.weightBytes).toBe(4 * model.countParams());

    const loaded = await loadModel(dir);
    expect(predict(loaded)).toEqual(expected);
    expect(loaded.getUserDefinedMetadata()).toEqual({ recipe: 'test', step: 7 });
    // Also given the model.json path itself.
    const again = await loadModel(path.join(dir, 'model.json'));
    expect(predict(again)).toEqual(expected);

    model.dispose();
    loaded.dispose();
    again.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('writes files the standard tfjs loader reads (the file:// handler logic)', async () => {
    const { dir, expected } = await savedModel(2);
    const modelJSON = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'));
    const artifacts = await tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
      const buffers: ArrayBuffer[] = [];
      for (const group of manifest) {
        for (const p of group.paths) {
          const b = await readFile(path.join(dir, p));
          buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
        }
      }
      return [manifest.flatMap((g) => g.weights), tf.io.concatenateArrayBuffers(buffers)];
    });
    const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    expect(predict(model)).toEqual(expected);
    model.dispose();
  });

  it('loads sharded weights (several paths in a group) as the tfjs converter writes them', async () => {
    const { dir, expected } = await savedModel(3);
    const json = await manifestOf(dir);
    const bin = await readFile(path.join(dir, json.weightsManifest[0]!.paths[0]!));
    const cut = 37; // not on a weight boundary
    await writeFile(path.join(dir, 'group1-shard1of2.bin'), bin.subarray(0, cut));
    await writeFile(path.join(dir, 'group1-shard2of2.bin'), bin.subarray(cut));
    json.weightsManifest[0]!.paths = ['group1-shard1of2.bin', 'group1-shard2of2.bin'];
    await writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
    await expectLoads(dir, expected);
  });

  it('replaces an existing model and removes its old weights file', async () => {
    const { dir } = await savedModel(4);
    const second = tinyModel(5);
    const saved = await saveModel(second, dir);
    const expected = predict(second);
    second.dispose();
    expect((await readdir(dir)).sort()).toEqual(['model.json', path.basename(saved.weights)].sort());
    await expectLoads(dir, expected);
    // Saving the same weights again is a no-op on the weights file.
    const loaded = await loadModel(dir);
    const resaved = await saveModel(loaded, dir);
    loaded.dispose();
    expect(resaved.weights).toBe(saved.weights);
    await expectLoads(dir, expected);
  });

  describe('corrupt or missing files fail with an error naming the file', () => {
    it('missing directory', async () => {
      const dir = path.join(root, 'does-not-exist');
      await expect(loadModel(dir)).rejects.toThrow(`loadModel: directory ${dir} does not exist`);
    });

    it('missing model.json', async () => {
      const dir = freshDir();
      await saveJSON(path.join(dir, 'other.json'), {});
      await expect(loadModel(dir)).rejects.toThrow(`${path.join(dir, 'model.json')} does not exist`);
    });

    it('invalid JSON', async () => {
      const { dir } = await savedModel();
      const file = path.join(dir, 'model.json');
      await writeFile(file, '{"modelTopology": {');
      await expect(loadModel(dir)).rejects.toThrow(new RegExp(`${escapeRegExp(file)} is not valid JSON`));
    });

    it('JSON without a weights manifest', async () => {
      const { dir } = await savedModel();
      const json = await manifestOf(dir);
      delete (json as Record<string, unknown>).weightsManifest;
      await writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
      await expect(loadModel(dir)).rejects.toThrow(/model\.json: has no "weightsManifest" array/);
    });

    it('weights file too short or too long', async () => {
      const { dir } = await savedModel();
      const json = await manifestOf(dir);
      const bin = path.join(dir, json.weightsManifest[0]!.paths[0]!);
      const bytes = await readFile(bin);
      await writeFile(bin, bytes.subarray(0, bytes.byteLength - 4));
      await expect(loadModel(dir)).rejects.toThrow(
        `${bin} has ${bytes.byteLength - 4} bytes but ${path.join(dir, 'model.json')} lists 4 weights taking ${bytes.byteLength} bytes (file truncated?)`,
      );
      await writeFile(bin, Buffer.concat([bytes, Buffer.alloc(8)]));
      await expect(loadModel(dir)).rejects.toThrow(/has \d+ bytes .* \(file too long\?\)/);
    });

    it('manifest naming a weights file that is missing', async () => {
      const { dir } = await savedModel();
      const json = await manifestOf(dir);
      const bin = path.join(dir, json.weightsManifest[0]!.paths[0]!);
      await rm(bin);
      await expect(loadModel(dir)).rejects.toThrow(`names weights file ${bin}, which cannot be read: no such file`);
    });

    it('manifest lacking a weight the model needs', async () => {
      const { dir } = await savedModel();
      const json = await manifestOf(dir);
      const group = json.weightsManifest[0]!;
      const last = group.weights.pop()!; // the final dense bias
      const bin = path.join(dir, group.paths[0]!);
      const bytes = await readFile(bin);
      await writeFile(bin, bytes.subarray(0, bytes.byteLength - 4 * last.shape.reduce((a, b) => a * b, 1)));
      await writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
      await expect(loadModel(dir)).rejects.toThrow(/model\.json: .*weights are not set.*bias/s);
    });

    it('NaN weights', async () => {
      const { dir } = await savedModel();
      const json = await manifestOf(dir);
      const bin = path.join(dir, json.weightsManifest[0]!.paths[0]!);
      const bytes = await readFile(bin);
      const firstSize = json.weightsManifest[0]!.weights[0]!.shape.reduce((a, b) => a * b, 1);
      bytes.writeFloatLE(Number.NaN, 4 * (firstSize + 1)); // second weight, flat index 1
      await writeFile(bin, bytes);
      const name = json.weightsManifest[0]!.weights[1]!.name;
      await expect(loadModel(dir)).rejects.toThrow(`${bin}: weight "${name}" (shape [3], 3 values) contains NaN at flat index 1`);
    });

    it('a graph model', async () => {
      const { dir } = await savedModel();
      const json = await manifestOf(dir);
      json.format = 'graph-model';
      await writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
      await expect(loadModel(dir)).rejects.toThrow(/format is "graph-model", expected "layers-model"/);
    });
  });

  describe('a failed save leaves the previous model intact', () => {
    async function expectIntact(dir: string, files: Record<string, string>, expected: number[]): Promise<void> {
      expect(await snapshot(dir)).toEqual(files); // same files, same bytes, no temporaries
      await expectLoads(dir, expected);
    }

    it('model with disposed weights', async () => {
      const { dir, expected } = await savedModel(6);
      const files = await snapshot(dir);
      const broken = tinyModel(7);
      broken.dispose();
      await expect(saveModel(broken, dir)).rejects.toThrow(/saveModel: .*disposed/);
      await expectIntact(dir, files, expected);
    });

    it('crash while writing the weights file', async () => {
      const { dir, expected } = await savedModel(8);
      const files = await snapshot(dir);
      const next = tinyModel(9);
      faults.writeLimitBytes = 100;
      await expect(saveModel(next, dir)).rejects.toThrow('simulated crash mid-write');
      faults.writeLimitBytes = -1;
      next.dispose();
      await expectIntact(dir, files, expected);
    });

    it('crash before model.json is replaced', async () => {
      const { dir, expected } = await savedModel(10);
      const files = await snapshot(dir);
      const next = tinyModel(11);
      faults.failRename = /model\.json$/;
      await expect(saveModel(next, dir)).rejects.toThrow('simulated crash before rename');
      faults.failRename = null;
      next.dispose();
      await expectIntact(dir, files, expected);
    });

    it('a crash that left temporaries behind: the next save cleans them up', async () => {
      const { dir } = await savedModel(12);
      const next = tinyModel(13);
      // What a hard crash (power loss) can leave: a temporary and an unreferenced weights file.
      await writeFile(path.join(dir, '.model.json.tmp-1-abcd'), 'partial');
      await writeFile(path.join(dir, 'model.0123456789abcdef.bin'), 'orphan');
      const saved = await saveModel(next, dir);
      const expected = predict(next);
      next.dispose();
      expect((await readdir(dir)).sort()).toEqual(['model.json', path.basename(saved.weights)].sort());
      await expectLoads(dir, expected);
    });

    it('model with NaN weights is refused', async () => {
      const { dir, expected } = await savedModel(14);
      const files = await snapshot(dir);
      const next = tinyModel(15);
      const w = next.layers[0]!.getWeights();
      next.layers[0]!.setWeights([tf.fill(w[0]!.shape, Number.NaN), w[1]!]);
      await expect(saveModel(next, dir)).rejects.toThrow(/saveModel: .*weights: weight "conv2d.*\/kernel".* contains NaN at flat index 0/);
      next.dispose();
      await expectIntact(dir, files, expected);
    });
  });
});

describe('saveWeights / loadWeights', () => {
  function tensors(): Record<string, tf.Tensor> {
    return {
      'adam/m': tf.tensor2d([[1.5, -2], [3, 4.25]]),
      'latents/h': tf.tensor1d([0.1, 0.2, 0.3]),
      step: tf.scalar(42, 'int32'),
      mask: tf.tensor1d([true, false, true], 'bool'),
    };
  }

  it('round-trips values, dtypes and meta, in the same manifest + bin format, without leaks', async () => {
    const before = tf.memory().numTensors;
    const dir = freshDir();
    const original = tensors();
    const saved = await saveWeights(dir, original, { name: 'optimizer', meta: { step: 42 } });
    expect(path.basename(saved.manifest)).toBe('optimizer.json');
    expect(path.basename(saved.weights)).toMatch(/^optimizer\.[0-9a-f]{16}\.bin$/);
    const json = await loadJSON<{ weightsManifest: Array<{ paths: string[] }> }>(saved.manifest);
    expect(json.weightsManifest[0]!.paths).toEqual([path.basename(saved.weights)]);

    const { tensors: loaded, meta } = await loadWeights(dir, { name: 'optimizer', expect: ['step'] });
    expect(meta).toEqual({ step: 42 });
    expect(Object.keys(loaded).sort()).toEqual(Object.keys(original).sort());
    for (const [name, t] of Object.entries(original)) {
      expect(loaded[name]!.dtype).toBe(t.dtype);
      expect(loaded[name]!.shape).toEqual(t.shape);
      expect(Array.from(loaded[name]!.dataSync())).toEqual(Array.from(t.dataSync()));
    }
    tf.dispose(Object.values(original));
    tf.dispose(Object.values(loaded));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fails naming the file on missing names, wrong length, NaN; refuses NaN and disposed tensors', async () => {
    const dir = freshDir();
    const original = tensors();
    const saved = await saveWeights(dir, original);
    const jsonPath = path.join(dir, 'weights.json');
    await expect(loadWeights(dir, { expect: ['adam/v'] })).rejects.toThrow(`${jsonPath} has no weight "adam/v"`);
    await expect(loadWeights(path.join(root, 'nope'))).rejects.toThrow(/directory .*nope does not exist/);

    const bytes = await readFile(saved.weights);
    await writeFile(saved.weights, bytes.subarray(0, 10));
    await expect(loadWeights(dir)).rejects.toThrow(`${saved.weights} has 10 bytes but ${jsonPath} lists 4 weights`);
    const nan = Buffer.from(bytes);
    nan.writeFloatLE(Number.NaN, 16 + 4); // latents/h[1]
    await writeFile(saved.weights, nan);
    await expect(loadWeights(dir)).rejects.toThrow(`${saved.weights}: weight "latents/h" (shape [3], 3 values) contains NaN at flat index 1`);

    const files = await snapshot(dir);
    const bad = { x: tf.tensor1d([1, Number.POSITIVE_INFINITY]) };
    await expect(saveWeights(dir, bad)).rejects.toThrow('weight "x" (shape [2], 2 values) contains Infinity at flat index 1');
    bad.x.dispose();
    await expect(saveWeights(dir, bad)).rejects.toThrow(`saveWeights: ${dir}: tensor "x" is disposed`);
    expect(await snapshot(dir)).toEqual(files);
    tf.dispose(Object.values(original));
  });
});

describe('saveJSON / loadJSON / writeFileAtomic', () => {
  it('round-trips JSON and reports missing or malformed files by path', async () => {
    const file = path.join(freshDir(), 'nested', 'metrics.json');
    await saveJSON(file, { fid: 12.5, labels: ['a', 'b'] });
    expect(await loadJSON(file)).toEqual({ fid: 12.5, labels: ['a', 'b'] });
    expect(await readFile(file, 'utf8')).toMatch(/\n$/);
    await writeFile(file, '{nope');
    await expect(loadJSON(file)).rejects.toThrow(`loadJSON: ${file} is not valid JSON`);
    await expect(loadJSON(`${file}.missing`)).rejects.toThrow(`loadJSON: cannot read ${file}.missing: no such file`);
  });

  it('keeps the old content when a write fails part-way', async () => {
    const dir = freshDir();
    const file = path.join(dir, 'state.txt');
    await writeFileAtomic(file, 'old');
    faults.writeLimitBytes = 2;
    await expect(writeFileAtomic(file, 'new content')).rejects.toThrow('simulated crash mid-write');
    faults.writeLimitBytes = -1;
    expect(await readFile(file, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['state.txt']);
  });
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
