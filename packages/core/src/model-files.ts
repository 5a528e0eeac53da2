import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { float32ToFloat16Bits } from './float16.js';

export { float32ToFloat16Bits };

/**
 * Model and tensor files on disk with plain node:fs: no tfjs-node needed.
 *
 * A model is saved in the standard tfjs layers format: `model.json` (topology + a
 * `weightsManifest`) and one binary weights file named in that manifest, so tfjs-node's
 * `file://` loader and the tfjs converter read it too. The weights file carries a content
 * hash in its name (`model.3f2a9c0d1e4b5a67.bin`), which makes a save atomic with a single
 * rename: the new weights file is written and fsynced under its own name first, then
 * `model.json` is replaced by rename, and only then are weights files no manifest refers
 * to removed. A crash at any moment leaves either the old model or the new one, never a
 * half-written or mixed pair, and a failed save leaves the previous model as it was.
 * Concurrent saves into the same directory are not supported.
 *
 * Named tensor maps (optimizer state, latent codes) use the same manifest + bin format
 * under another stem: `weights.json` + `weights.<hash>.bin` by default.
 */

/** What a save wrote. */
export interface SavedFiles {
  /** Path of the manifest (`model.json`, `weights.json`, ...). */
  manifest: string;
  /** Path of the weights file it names. */
  weights: string;
  /** Size of the weights file in bytes. */
  weightBytes: number;
}

export interface SaveWeightsOptions {
  /** File stem inside `dir`: writes `<name>.json` and `<name>.<hash>.bin`. Default `weights`. */
  name?: string;
  /** JSON-serialisable metadata stored in the manifest (e.g. step, learning rate). */
  meta?: object;
}

export interface LoadWeightsOptions {
  /** File stem inside `dir`, as given to `saveWeights`. Default `weights`. */
  name?: string;
  /** Names that must be present; loading fails naming the first one missing. */
  expect?: readonly string[];
}

export interface LoadedWeights {
  tensors: Record<string, Tensor>;
  /** The `meta` passed to `saveWeights`, if any. */
  meta: Record<string, unknown> | undefined;
}

export interface LoadModelOptions {
  /** Fail when the model's weights and the file's weights do not match exactly. Default true. */
  strict?: boolean;
}

const MODEL_STEM = 'model';
const WEIGHTS_STEM = 'weights';
const WEIGHTS_FORMAT = 'ppgn-weights';
const GENERATED_BY = 'ppgn.js @ppgn/core';
const WRITE_CHUNK = 4 << 20;

// ---------------------------------------------------------------------------------------
// Atomic file writes

function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** fsyncs a directory so renames in it are durable (best effort; not every platform can). */
export async function syncDir(dir: string): Promise<void> {
  // Makes the renames durable. Directories cannot be opened for sync on every platform.
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

async function writeDurable(file: string, data: Uint8Array): Promise<void> {
  const handle = await open(file, 'w', 0o666);
  try {
    for (let offset = 0; offset < data.byteLength; ) {
      const length = Math.min(WRITE_CHUNK, data.byteLength - offset);
      const { bytesWritten } = await handle.write(data, offset, length);
      offset += bytesWritten;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/**
 * Writes `data` to `file` atomically: into a temporary file beside it, fsync, then rename
 * over `file`. Readers see the old content or the new one, never a partial file. Creates
 * the parent directory when needed.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = tempName(file);
  try {
    await writeDurable(tmp, toBytes(data));
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await syncDir(dir);
}

/** Writes `value` as indented JSON (atomically, see `writeFileAtomic`). */
export async function saveJSON(file: string, value: unknown): Promise<void> {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) throw new Error(`saveJSON: ${file}: value is not JSON-serialisable`);
  await writeFileAtomic(file, `${text}\n`);
}

/** Reads a JSON file; errors name the file and say whether it is missing or malformed. */
export async function loadJSON<T = unknown>(file: string): Promise<T> {
  return (await readJsonFile(file, 'loadJSON')) as T;
}

async function readJsonFile(file: string, who: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`${who}: cannot read ${file}: ${describeFsError(err)}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${who}: ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'ENOTDIR') return 'a parent is not a directory';
  return (err as Error).message;
}

// ---------------------------------------------------------------------------------------
// Manifest + bin pairs

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function checkStem(stem: string, who: string): void {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(stem) || stem.endsWith('.')) {
    throw new Error(`${who}: name "${stem}" must be a plain file stem (letters, digits, '_', '-', '.')`);
  }
}

/**
 * Commits `<stem>.<hash>.bin` then `<stem>.json` (built by `manifestFor(binName)`) in
 * `dir`, and removes `<stem>.*.bin` files and temporaries the new manifest does not use.
 */
async function commitPair(
  dir: string,
  stem: string,
  weights: Uint8Array,
  manifestFor: (binName: string) => unknown,
): Promise<SavedFiles> {
  await mkdir(dir, { recursive: true });
  const hash = createHash('sha256').update(weights).digest('hex').slice(0, 16);
  const binName = `${stem}.${hash}.bin`;
  const binPath = path.join(dir, binName);
  const jsonPath = path.join(dir, `${stem}.json`);
  const text = JSON.stringify(manifestFor(binName), null, 2);
  if (text === undefined) throw new Error(`${jsonPath}: manifest is not JSON-serialisable`);

  // The same content under the same name may already be there (saving an unchanged model).
  const binExisted = await isFileOfSize(binPath, weights.byteLength);
  try {
    if (!binExisted) {
      const tmp = tempName(binPath);
      try {
        await writeDurable(tmp, weights);
        await rename(tmp, binPath);
      } catch (err) {
        await rm(tmp, { force: true }).catch(() => undefined);
        throw err;
      }
      await syncDir(dir);
    }
    await writeFileAtomic(jsonPath, `${text}\n`);
  } catch (err) {
    // The previous manifest still names its own weights file; drop the unused new one.
    if (!binExisted) await rm(binPath, { force: true }).catch(() => undefined);
    throw err;
  }
  await removeStale(dir, stem, binName);
  return { manifest: jsonPath, weights: binPath, weightBytes: weights.byteLength };
}

async function isFileOfSize(file: string, size: number): Promise<boolean> {
  try {
    const s = await stat(file);
    return s.isFile() && s.size === size;
  } catch {
    return false;
  }
}

async function removeStale(dir: string, stem: string, keep: string): Promise<void> {
  const s = escapeRegExp(stem);
  const stale = new RegExp(`^(${s}\\.[0-9a-f]{16}\\.bin|\\.${s}\\.(json|[0-9a-f]{16}\\.bin)\\.tmp-.*)$`);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(
    names
      .filter((n) => n !== keep && stale.test(n))
      .map((n) => rm(path.join(dir, n), { force: true }).catch(() => undefined)),
  );
}

function joinWeightData(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return new Uint8Array(tf.io.concatenateArrayBuffers(Array.isArray(data) ? data : [data]));
}

/** Throws naming the weight when a float weight holds NaN or +-Infinity. */
function checkFiniteWeights(specs: tf.io.WeightsManifestEntry[], data: Uint8Array, where: string): void {
  let offset = 0;
  for (const spec of specs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const bytes = entryByteLength(spec, data, offset);
    const q = spec.quantization;
    let bad: { index: number; value: string } | undefined;
    if (q === undefined && (spec.dtype === 'float32' || spec.dtype === 'complex64')) {
      const values = new Float32Array(data.slice(offset, offset + bytes).buffer);
      for (let i = 0; i < values.length; i++) {
        if (!Number.isFinite(values[i]!)) {
          bad = { index: i, value: String(values[i]) };
          break;
        }
      }
    } else if (q?.dtype === 'float16') {
      const values = new Uint16Array(data.slice(offset, offset + bytes).buffer);
      for (let i = 0; i < values.length; i++) {
        if ((values[i]! & 0x7c00) === 0x7c00) {
          bad = { index: i, value: values[i]! & 0x3ff ? 'NaN' : 'Infinity' };
          break;
        }
      }
    } else if (q !== undefined && !(Number.isFinite(q.scale ?? 1) && Number.isFinite(q.min ?? 0))) {
      bad = { index: 0, value: 'a non-finite quantization scale/min' };
    }
    if (bad !== undefined) {
      throw new Error(
        `${where}: weight "${spec.name}" (shape [${spec.shape.join(', ')}], ${n} values) contains ${bad.value} at flat index ${bad.index}`,
      );
    }
    offset += bytes;
  }
}

/** Bytes one manifest entry takes in the weights buffer starting at `offset` (-1: overruns). */
function entryByteLength(spec: tf.io.WeightsManifestEntry, data: Uint8Array, offset: number): number {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const q = spec.quantization;
  if (q !== undefined) return n * (q.dtype === 'uint8' ? 1 : 2);
  switch (spec.dtype) {
    case 'float32':
    case 'int32':
      return 4 * n;
    case 'bool':
      return n;
    case 'complex64':
      return 8 * n;
    case 'string': {
      // Each string is a little-endian uint32 byte length followed by the bytes.
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      let at = offset;
      for (let i = 0; i < n; i++) {
        if (at + 4 > data.byteLength) return -1;
        at += 4 + view.getUint32(at, true);
      }
      return at > data.byteLength ? -1 : at - offset;
    }
    default:
      throw new Error(`unknown dtype ${String(spec.dtype)}`);
  }
}

const DTYPES = new Set(['float32', 'int32', 'bool', 'string', 'complex64']);
const QUANT_DTYPES = new Set(['uint8', 'uint16', 'float16']);

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Checks the shape of a `weightsManifest` and returns it typed, or throws naming `file`. */
function parseManifest(value: unknown, file: string, who: string): tf.io.WeightsManifestConfig {
  const fail = (what: string): never => {
    throw new Error(`${who}: ${file}: ${what}`);
  };
  if (!Array.isArray(value)) fail('has no "weightsManifest" array');
  const groups = value as unknown[];
  groups.forEach((group, g) => {
    if (!isRecord(group)) fail(`weightsManifest[${g}] is not an object`);
    const { paths, weights } = group as Record<string, unknown>;
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string' && p.length > 0)) {
      fail(`weightsManifest[${g}].paths must be a list of file names`);
    }
    if (!Array.isArray(weights)) fail(`weightsManifest[${g}].weights must be a list`);
    (weights as unknown[]).forEach((w, i) => {
      const where = `weightsManifest[${g}].weights[${i}]`;
      if (!isRecord(w)) {
        fail(`${where} is not an object`);
        return;
      }
      if (typeof w.name !== 'string') fail(`${where} has no name`);
      if (!Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0)) {
        fail(`${where} ("${String(w.name)}") has an invalid shape ${JSON.stringify(w.shape)}`);
      }
      if (typeof w.dtype !== 'string' || !DTYPES.has(w.dtype)) {
        fail(`${where} ("${String(w.name)}") has an unknown dtype ${JSON.stringify(w.dtype)}`);
      }
      if (w.quantization !== undefined) {
        const q = w.quantization;
        if (!isRecord(q) || typeof q.dtype !== 'string' || !QUANT_DTYPES.has(q.dtype)) {
          fail(`${where} ("${String(w.name)}") has an unknown quantization ${JSON.stringify(q)}`);
        }
      }
    });
  });
  return groups as tf.io.WeightsManifestConfig;
}

/**
 * Reads every weights file a manifest names (paths relative to the manifest), checks each
 * group's byte length against its entries and that float weights are finite. Returns the
 * specs and the bytes, concatenated in manifest order.
 */
async function readWeightFiles(
  manifest: tf.io.WeightsManifestConfig,
  jsonPath: string,
  who: string,
): Promise<{ specs: tf.io.WeightsManifestEntry[]; data: Uint8Array }> {
  const dir = path.dirname(path.resolve(jsonPath));
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  for (const group of manifest) {
    const files = group.paths.map((p) => {
      const full = path.resolve(dir, p);
      if (path.relative(dir, full).startsWith('..') || path.isAbsolute(p)) {
        throw new Error(`${who}: ${jsonPath}: weights path "${p}" points outside ${dir}`);
      }
      return full;
    });
    const chunks: Uint8Array[] = [];
    for (const file of files) {
      try {
        chunks.push(plainBytes(await readFile(file)));
      } catch (err) {
        throw new Error(`${who}: ${jsonPath} names weights file ${file}, which cannot be read: ${describeFsError(err)}`);
      }
    }
    const data = chunks.length === 1 ? chunks[0]! : plainBytes(Buffer.concat(chunks));
    const where = files.join(' + ');
    let expected = 0;
    for (const spec of group.weights) {
      const bytes = entryByteLength(spec, data, expected);
      if (bytes < 0) {
        throw new Error(`${who}: ${where} is truncated: string weight "${spec.name}" runs past its end (${data.byteLength} bytes)`);
      }
      expected += bytes;
    }
    if (data.byteLength !== expected) {
      throw new Error(
        `${who}: ${where} has ${data.byteLength} bytes but ${jsonPath} lists ${group.weights.length} weights taking ${expected} bytes` +
          (data.byteLength < expected ? ' (file truncated?)' : ' (file too long?)'),
      );
    }
    checkFiniteWeights(group.weights, data, `${who}: ${where}`);
    specs.push(...group.weights);
    parts.push(data);
  }
  const data = parts.length === 1 ? parts[0]! : plainBytes(Buffer.concat(parts));
  return { specs, data };
}

/** A plain Uint8Array view (Buffer's `slice` shares memory; Uint8Array's copies). */
function plainBytes(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
    ? bytes.buffer
    : (bytes.slice().buffer as ArrayBuffer);
}

function manifestPath(dirOrFile: string, stem: string): string {
  return dirOrFile.endsWith('.json') ? dirOrFile : path.join(dirOrFile, `${stem}.json`);
}

async function assertExists(jsonPath: string, who: string): Promise<void> {
  const dir = path.dirname(jsonPath);
  try {
    await stat(dir);
  } catch {
    throw new Error(`${who}: directory ${dir} does not exist`);
  }
  try {
    await stat(jsonPath);
  } catch {
    throw new Error(`${who}: ${jsonPath} does not exist`);
  }
}

// ---------------------------------------------------------------------------------------
// Layers models

/**
 * Saves a tfjs LayersModel into `dir` as `model.json` + `model.<hash>.bin` (standard tfjs
 * layers format). `meta` is merged into the model's user-defined metadata, which
 * `loadModel(dir).getUserDefinedMetadata()` returns. Refuses to save NaN or infinite
 * weights, so a diverged run never replaces a good model. Atomic: see the module notes.
 */
export async function saveModel(model: LayersModel, dir: string, meta?: object, options: SaveModelOptions = {}): Promise<SavedFiles> {
  const who = 'saveModel';
  let saved: SavedFiles | undefined;
  try {
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        if (artifacts.modelTopology === undefined || artifacts.modelTopology instanceof ArrayBuffer) {
          throw new Error('model gave no JSON topology');
        }
        let weights = joinWeightData(artifacts.weightData);
        let specs = artifacts.weightSpecs ?? [];
        checkFiniteWeights(specs, weights, 'weights');
        if (options.quantize === 'float16') ({ specs, weights } = quantizeFloat16(specs, weights));
        const userDefinedMetadata =
          meta === undefined ? artifacts.userDefinedMetadata : { ...(artifacts.userDefinedMetadata ?? {}), ...meta };
        saved = await commitPair(dir, MODEL_STEM, weights, (binName) => {
          const json: Record<string, unknown> = {
            format: artifacts.format ?? 'layers-model',
            generatedBy: artifacts.generatedBy,
            convertedBy: artifacts.convertedBy ?? null,
            modelTopology: artifacts.modelTopology,
            weightsManifest: [{ paths: [binName], weights: specs }],
          };
          if (artifacts.trainingConfig != null) json.trainingConfig = artifacts.trainingConfig;
          if (artifacts.signature != null) json.signature = artifacts.signature;
          if (userDefinedMetadata != null) json.userDefinedMetadata = userDefinedMetadata;
          return json;
        });
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
      }),
    );
  } catch (err) {
    throw new Error(`${who}: ${dir}: ${(err as Error).message}`);
  }
  return saved!;
}

/** Options of `saveModel`. */
export interface SaveModelOptions {
  /**
   * Store float32 weights as float16 (half the bytes; tfjs dequantizes on load, values
   * round to about 3 significant digits). For shipping trained models, not checkpoints.
   */
  quantize?: 'float16';
}

/** Rewrites float32 entries as float16 with the standard tfjs `quantization` manifest field. */
function quantizeFloat16(
  specs: tf.io.WeightsManifestEntry[],
  data: Uint8Array,
): { specs: tf.io.WeightsManifestEntry[]; weights: Uint8Array } {
  const outSpecs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const spec of specs) {
    const bytes = entryByteLength(spec, data, offset);
    const chunk = data.slice(offset, offset + bytes);
    offset += bytes;
    if (spec.dtype !== 'float32' || spec.quantization !== undefined) {
      outSpecs.push(spec);
      parts.push(chunk);
      continue;
    }
    const values = new Float32Array(chunk.buffer);
    const half = new Uint16Array(values.length);
    for (let i = 0; i < values.length; i++) half[i] = float32ToFloat16Bits(values[i]!);
    outSpecs.push({ ...spec, quantization: { dtype: 'float16', original_dtype: 'float32' } as tf.io.WeightsManifestEntry['quantization'] });
    parts.push(new Uint8Array(half.buffer));
  }
  return { specs: outSpecs, weights: plainBytes(Buffer.concat(parts)) };
}

/**
 * Loads a LayersModel saved by `saveModel` (or tfjs-node / the tfjs converter, including
 * sharded weights). `dir` is the model directory or the path of its `model.json`. Fails
 * with an error naming the file when a file is missing, the JSON is malformed, a weights
 * file has the wrong byte length, a weight is NaN/infinite, or the model's weights and the
 * manifest's do not match.
 */
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<LayersModel> {
  const who = 'loadModel';
  const jsonPath = manifestPath(dir, MODEL_STEM);
  await assertExists(jsonPath, who);
  const json = await readJsonFile(jsonPath, who);
  if (!isRecord(json)) throw new Error(`${who}: ${jsonPath}: expected a JSON object`);
  if (json.format !== undefined && json.format !== 'layers-model') {
    throw new Error(`${who}: ${jsonPath}: format is ${JSON.stringify(json.format)}, expected "layers-model"`);
  }
  if (!isRecord(json.modelTopology)) throw new Error(`${who}: ${jsonPath}: has no "modelTopology" object`);
  const manifest = parseManifest(json.weightsManifest, jsonPath, who);
  const { specs, data } = await readWeightFiles(manifest, jsonPath, who);
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json.modelTopology,
    format: json.format as string | undefined,
    generatedBy: json.generatedBy as string | undefined,
    convertedBy: json.convertedBy as string | null | undefined,
    weightSpecs: specs,
    weightData: arrayBufferOf(data),
  };
  if (json.trainingConfig != null) artifacts.trainingConfig = json.trainingConfig as tf.io.TrainingConfig;
  if (isRecord(json.userDefinedMetadata)) artifacts.userDefinedMetadata = json.userDefinedMetadata as NonNullable<tf.io.ModelArtifacts["userDefinedMetadata"]>;
  try {
    return await tfl.loadLayersModel(tf.io.fromMemory(artifacts), { strict: options.strict ?? true });
  } catch (err) {
    throw new Error(`${who}: ${jsonPath}: ${(err as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------
// Named tensor maps

/**
 * Saves named tensors (optimizer state, latent codes, ...) into `dir` as `<name>.json`
 * (a tfjs weights manifest plus `meta`) and `<name>.<hash>.bin`. Atomic like `saveModel`;
 * refuses NaN or infinite float values.
 */
export async function saveWeights(
  dir: string,
  tensors: Record<string, Tensor>,
  options: SaveWeightsOptions = {},
): Promise<SavedFiles> {
  const who = 'saveWeights';
  const stem = options.name ?? WEIGHTS_STEM;
  checkStem(stem, who);
  for (const [name, t] of Object.entries(tensors)) {
    if (t.isDisposed) throw new Error(`${who}: ${dir}: tensor "${name}" is disposed`);
  }
  const { data, specs } = await tf.io.encodeWeights(tensors);
  const weights = joinWeightData(data);
  try {
    checkFiniteWeights(specs, weights, 'tensors');
    return await commitPair(dir, stem, weights, (binName) => {
      const json: Record<string, unknown> = {
        format: WEIGHTS_FORMAT,
        generatedBy: GENERATED_BY,
        weightsManifest: [{ paths: [binName], weights: specs }],
      };
      if (options.meta !== undefined) json.userDefinedMetadata = options.meta;
      return json;
    });
  } catch (err) {
    throw new Error(`${who}: ${dir}: ${(err as Error).message}`);
  }
}

/**
 * Loads tensors saved by `saveWeights`. `dir` is the directory (with `options.name`) or
 * the manifest's path. The caller owns (and disposes) the returned tensors. Fails naming
 * the file on the same problems as `loadModel`, or when an `expect`ed name is absent.
 */
export async function loadWeights(dir: string, options: LoadWeightsOptions = {}): Promise<LoadedWeights> {
  const who = 'loadWeights';
  const stem = options.name ?? WEIGHTS_STEM;
  checkStem(stem, who);
  const jsonPath = manifestPath(dir, stem);
  await assertExists(jsonPath, who);
  const json = await readJsonFile(jsonPath, who);
  if (!isRecord(json)) throw new Error(`${who}: ${jsonPath}: expected a JSON object`);
  const manifest = parseManifest(json.weightsManifest, jsonPath, who);
  const present = new Set(manifest.flatMap((g) => g.weights.map((w) => w.name)));
  for (const name of options.expect ?? []) {
    if (!present.has(name)) {
      throw new Error(`${who}: ${jsonPath} has no weight "${name}" (has: ${[...present].join(', ') || 'none'})`);
    }
  }
  const { specs, data } = await readWeightFiles(manifest, jsonPath, who);
  let tensors: Record<string, Tensor>;
  try {
    tensors = tf.io.decodeWeights(arrayBufferOf(data), specs);
  } catch (err) {
    throw new Error(`${who}: ${jsonPath}: ${(err as Error).message}`);
  }
  const meta = isRecord(json.userDefinedMetadata) ? json.userDefinedMetadata : undefined;
  return { tensors, meta };
}
