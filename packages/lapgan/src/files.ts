/**
 * Pyramids on disk:
 *
 *   <dir>/pyramid.json        manifest: format, sizes, channels, classes, one entry per level
 *   <dir>/level-0/g/          the base G (tfjs layers format: model.json + weights)
 *   <dir>/level-0/d/          its D (optional: sampling needs only G)
 *   <dir>/level-1/...         a finer level; per-class levels hold class-0/g, class-0/d, ...
 *
 * Models are written with core's `saveModel` (atomic per model) and the manifest last,
 * so a pyramid directory is readable at every moment of a save. Loading checks that the
 * levels chain (sizes, channels, class counts) and that every model matches its level's
 * spec, and fails naming the level and the values; missing or corrupted model files fail
 * with core's errors (which name the file), prefixed with the level.
 */
import { isAbsolutePath, joinPath, loadJSON, loadModel, parentPath, saveJSON, saveModel } from '@ppgn/core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { LapganPyramid, type LevelInfo, PyramidLevel } from './level.js';
import { buildDiscriminator, buildGenerator, type LevelNets } from './networks.js';
import { checkChain, describeSpec, type LevelSpec, validateLevelSpec } from './spec.js';

export const PYRAMID_FORMAT = 'ppgn-lapgan-pyramid';
export const PYRAMID_VERSION = 1;
export const MANIFEST_FILE = 'pyramid.json';

export interface ManifestLevel extends LevelInfo {
  /** Directory of the level, relative to the pyramid directory. */
  dir: string;
  spec: LevelSpec;
  /** Whether the level's discriminators were saved. */
  discriminators: boolean;
}

export interface PyramidManifest {
  format: typeof PYRAMID_FORMAT;
  version: number;
  sizes: number[];
  channels: 1 | 3;
  numClasses: number;
  classNames?: string[];
  levels: ManifestLevel[];
}

export interface SaveOptions {
  /** Save the discriminators too (needed to continue training). Default: when loaded. */
  discriminators?: boolean;
  /** Store the weights as float16 (half the bytes, for shipping; loading dequantizes). Default false. */
  float16?: boolean;
}

export interface LoadOptions {
  /** Load the discriminators (needed to continue training). Default true when saved. */
  discriminators?: boolean;
}

function netDir(level: LevelSpec, c: number): string {
  return level.perClass ? `class-${c}` : '.';
}

/** Saves one level's networks into `dir` (g/ and d/, or class-<c>/g and class-<c>/d). */
export async function saveLevel(level: PyramidLevel, dir: string, options: SaveOptions = {}): Promise<void> {
  const withD = options.discriminators ?? level.hasDiscriminators;
  if (withD && !level.hasDiscriminators) {
    throw new Error(`saveLevel: ${dir}: ${describeSpec(level.spec)} has no discriminators loaded; save with discriminators: false`);
  }
  for (let c = 0; c < level.nets.length; c++) {
    const nets = level.nets[c]!;
    const base = joinPath(dir, netDir(level.spec, c));
    const meta = { lapgan: { spec: level.spec, class: level.spec.perClass ? c : null } };
    const quantize = { quantize: options.float16 ? ('float16' as const) : undefined };
    await saveModel(nets.g, joinPath(base, 'g'), meta, quantize);
    if (withD) await saveModel(nets.d!, joinPath(base, 'd'), meta, quantize);
  }
}

/** Fails when `model` does not have the weights (names and shapes) a fresh model of `spec` would have. */
function checkModel(model: LayersModel, reference: LayersModel, what: string): void {
  const have = model.weights.map((w) => `${w.originalName} [${w.shape.join(', ')}]`);
  const want = reference.weights.map((w) => `${w.originalName} [${w.shape.join(', ')}]`);
  for (let i = 0; i < Math.max(have.length, want.length); i++) {
    if (have[i] !== want[i]) {
      throw new Error(
        `${what} does not match the level's spec: weight ${i} is ${have[i] ?? 'missing'}, expected ${want[i] ?? 'nothing'}`,
      );
    }
  }
}

/**
 * Loads a level saved by `saveLevel` for `spec`, checking every model against the spec.
 * `where` prefixes error messages.
 */
export async function loadLevel(
  dir: string,
  spec: LevelSpec,
  options: LoadOptions & { info?: LevelInfo; where?: string } = {},
): Promise<PyramidLevel> {
  const where = options.where ?? `loadLevel: ${dir}`;
  const withD = options.discriminators ?? true;
  const count = spec.perClass ? spec.numClasses : 1;
  const nets: LevelNets[] = [];
  const load = async (dir: string): Promise<LayersModel> => {
    try {
      return await loadModel(dir);
    } catch (err) {
      throw new Error(`${where}: ${describeSpec(spec)}: ${(err as Error).message}`);
    }
  };
  const refG = buildGenerator(spec, () => 0);
  const refD = withD ? buildDiscriminator(spec, () => 0) : null;
  try {
    for (let c = 0; c < count; c++) {
      const base = joinPath(dir, netDir(spec, c));
      const g = await load(joinPath(base, 'g'));
      nets.push({ g, d: null });
      checkModel(g, refG, `${where}: ${describeSpec(spec)}: G in ${joinPath(base, 'g')}`);
      if (refD !== null) {
        const d = await load(joinPath(base, 'd'));
        nets[c]!.d = d;
        checkModel(d, refD, `${where}: ${describeSpec(spec)}: D in ${joinPath(base, 'd')}`);
      }
    }
  } catch (err) {
    for (const n of nets) {
      n.g.dispose();
      n.d?.dispose();
    }
    throw err;
  } finally {
    refG.dispose();
    refD?.dispose();
  }
  return new PyramidLevel(spec, nets, options.info ?? {});
}

/** Saves a pyramid into `dir` (see the module notes); returns the manifest's path. */
export async function savePyramid(pyramid: LapganPyramid, dir: string, options: SaveOptions = {}): Promise<string> {
  const levels: ManifestLevel[] = [];
  for (let k = 0; k < pyramid.levels.length; k++) {
    const level = pyramid.levels[k]!;
    const levelDir = `level-${k}`;
    const withD = options.discriminators ?? level.hasDiscriminators;
    await saveLevel(level, joinPath(dir, levelDir), { discriminators: withD, float16: options.float16 });
    levels.push({ dir: levelDir, spec: level.spec, discriminators: withD, ...level.info });
  }
  const manifest: PyramidManifest = {
    format: PYRAMID_FORMAT,
    version: PYRAMID_VERSION,
    sizes: pyramid.sizes,
    channels: pyramid.channels,
    numClasses: pyramid.numClasses,
    ...(pyramid.classNames === undefined ? {} : { classNames: [...pyramid.classNames] }),
    levels,
  };
  const file = joinPath(dir, MANIFEST_FILE);
  await saveJSON(file, manifest);
  return file;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Reads and checks a pyramid manifest (without loading any model). */
export async function readPyramidManifest(dir: string): Promise<PyramidManifest> {
  const file = dir.endsWith('.json') ? dir : joinPath(dir, MANIFEST_FILE);
  const where = `loadPyramid: ${file}`;
  const json = await loadJSON(file);
  if (!isRecord(json)) throw new Error(`${where}: expected a JSON object`);
  if (json.format !== PYRAMID_FORMAT) {
    throw new Error(`${where}: format is ${JSON.stringify(json.format)}, expected "${PYRAMID_FORMAT}"`);
  }
  if (json.version !== PYRAMID_VERSION) {
    throw new Error(`${where}: version ${JSON.stringify(json.version)} is not supported (expected ${PYRAMID_VERSION})`);
  }
  if (!Array.isArray(json.levels) || json.levels.length === 0) throw new Error(`${where}: "levels" must be a non-empty list`);
  const levels: ManifestLevel[] = json.levels.map((entry, k) => {
    if (!isRecord(entry)) throw new Error(`${where}: levels[${k}] is not an object`);
    const spec = validateLevelSpec(entry.spec, `${where}: level ${k}`);
    if (typeof entry.dir !== 'string' || entry.dir.length === 0 || isAbsolutePath(entry.dir) || entry.dir.split(/[\\/]/).includes('..')) {
      throw new Error(`${where}: level ${k}: dir must be a relative path inside the pyramid, got ${JSON.stringify(entry.dir)}`);
    }
    const level: ManifestLevel = { dir: entry.dir, spec, discriminators: entry.discriminators === true };
    if (typeof entry.steps === 'number') level.steps = entry.steps;
    if (typeof entry.source === 'string') level.source = entry.source;
    return level;
  });
  checkChain(
    levels.map((l) => l.spec),
    where,
  );
  const first = levels[0]!.spec;
  if (json.channels !== first.channels) {
    throw new Error(`${where}: the pyramid says ${JSON.stringify(json.channels)} channel(s) but level 0 has ${first.channels}`);
  }
  const numClasses = Math.max(...levels.map((l) => l.spec.numClasses));
  if (json.numClasses !== numClasses) {
    throw new Error(`${where}: the pyramid says ${JSON.stringify(json.numClasses)} classes but its levels have ${numClasses}`);
  }
  const sizes = levels.map((l) => l.spec.size);
  if (!Array.isArray(json.sizes) || json.sizes.join(',') !== sizes.join(',')) {
    throw new Error(`${where}: the pyramid says sizes ${JSON.stringify(json.sizes)} but its levels have [${sizes.join(', ')}]`);
  }
  const manifest: PyramidManifest = { format: PYRAMID_FORMAT, version: PYRAMID_VERSION, sizes, channels: first.channels, numClasses, levels };
  if (json.classNames !== undefined) {
    if (!Array.isArray(json.classNames) || json.classNames.length !== numClasses || !json.classNames.every((n) => typeof n === 'string')) {
      throw new Error(`${where}: classNames must list ${numClasses} names`);
    }
    manifest.classNames = json.classNames as string[];
  }
  return manifest;
}

/**
 * Loads a pyramid saved by `savePyramid`. `dir` is the pyramid directory (or its
 * pyramid.json). Discriminators are loaded when saved unless `discriminators: false`.
 */
export async function loadPyramid(dir: string, options: LoadOptions = {}): Promise<LapganPyramid> {
  const root = dir.endsWith('.json') ? parentPath(dir) : dir;
  const manifest = await readPyramidManifest(dir);
  const levels: PyramidLevel[] = [];
  try {
    for (let k = 0; k < manifest.levels.length; k++) {
      const entry = manifest.levels[k]!;
      const withD = (options.discriminators ?? true) && entry.discriminators;
      const info: LevelInfo = {};
      if (entry.steps !== undefined) info.steps = entry.steps;
      if (entry.source !== undefined) info.source = entry.source;
      levels.push(
        await loadLevel(joinPath(root, entry.dir), entry.spec, {
          discriminators: withD,
          info,
          where: `loadPyramid: ${root}: level ${k}`,
        }),
      );
    }
  } catch (err) {
    for (const l of levels) l.dispose();
    throw err;
  }
  return new LapganPyramid(levels, manifest.classNames === undefined ? {} : { classNames: manifest.classNames });
}
