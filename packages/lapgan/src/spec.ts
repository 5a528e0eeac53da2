/**
 * Pyramid configs and the per-level specs they resolve to.
 *
 * A pyramid has sizes s_0 < s_1 < ... < s_K (coarse to fine). Level 0, the base, is a
 * fully connected conditional GAN making s_0 x s_0 images from noise. Level k >= 1 refines
 * s_{k-1} -> s_k: its generator takes a noise plane, a class plane and the upsampled
 * coarser image l, and outputs the band-pass residual h_k; the level's image is l + h_k.
 *
 * The defaults are the reference CIFAR-10 models (LAPGAN demo: base G 600-600 units,
 * finer G two 7x7 convs of 128 filters, D 128 filters) scaled down so that a level trains
 * in minutes on two CPU cores: base G 512-512, base D 256-256, finer G two 5x5 convs of
 * 32 filters, finer D 32 filters. `LAPGAN_CIFAR10_DEMO` has the reference sizes.
 */
import { checkSizes } from './pyramid.js';

export interface BaseLevelOptions {
  /** Length of z, drawn from U(-1, 1). Default 100. */
  noiseDim?: number;
  /** Hidden ReLU layers of G. Default [512, 512]. */
  gHidden?: readonly number[];
  /** Hidden ReLU layers of D, each followed by dropout. Default [256, 256]. */
  dHidden?: readonly number[];
  /** Dropout rate after each hidden layer of D (training only). Default 0.5. */
  dropout?: number;
  /** G's output nonlinearity; either way the output covers exactly the image range. Default 'tanh'. */
  output?: 'tanh' | 'sigmoid';
}

export interface RefineLevelOptions {
  /** Filters of G's hidden convs (ReLU, 'same' padding). Default [32, 32]. */
  gFilters?: readonly number[];
  /** Kernel size of G's hidden convs. Default 5 (the reference models use 7). */
  gKernel?: number;
  /** Kernel size of G's output conv. Default 5. */
  gOutKernel?: number;
  /** Filters of D's two convs. Default 32. */
  dFilters?: number;
  /** Kernel size of D's convs. Default 5. */
  dKernel?: number;
  /**
   * Padding of D's convs. Default 'valid' (as in the reference models) when the level is at
   * least 2 * dKernel - 1 pixels wide, else 'same' so that small levels still fit.
   */
  dPadding?: 'valid' | 'same';
  /** Dropout rate before D's last layer (training only). Default 0.5. */
  dropout?: number;
  /**
   * G's residual output: 'linear' (the reference code's) or 'tanh' scaled by
   * `residualScale`, which bounds the residual. Default 'tanh'.
   */
  residual?: 'linear' | 'tanh';
  /** Bound of a 'tanh' residual in internal units ([-1, 1] images, so 2 = full range). Default 1. */
  residualScale?: number;
}

export interface PyramidConfig {
  /** Level sizes, coarse to fine, e.g. [8, 16, 32] or [8, 14, 28]. */
  sizes: readonly number[];
  /** Image channels, 1 or 3. */
  channels: 1 | 3;
  /** Number of classes; 0 (the default) for an unconditional pyramid. */
  numClasses?: number;
  /** Display names of the classes (length numClasses). */
  classNames?: readonly string[];
  /**
   * One network pair per class and level (the reference LSUN models) instead of one
   * class-conditional pair fed a one-hot code. Default false.
   */
  perClass?: boolean;
  base?: BaseLevelOptions;
  /** Options of every finer level, or one entry per finer level. */
  refine?: RefineLevelOptions | readonly RefineLevelOptions[];
}

interface CommonSpec {
  /** Output size of the level (square). */
  size: number;
  channels: 1 | 3;
  /** Classes the level is conditioned on (0: unconditional). */
  numClasses: number;
  /** One network pair per class (numClasses > 0) instead of one-hot conditioning. */
  perClass: boolean;
}

/** The base level's resolved spec. */
export interface BaseLevelSpec extends CommonSpec {
  kind: 'base';
  noiseDim: number;
  gHidden: number[];
  dHidden: number[];
  dropout: number;
  output: 'tanh' | 'sigmoid';
}

/** A finer level's resolved spec: refines `inputSize` -> `size`. */
export interface RefineLevelSpec extends CommonSpec {
  kind: 'refine';
  inputSize: number;
  gFilters: number[];
  gKernel: number;
  gOutKernel: number;
  dFilters: number;
  dKernel: number;
  dPadding: 'valid' | 'same';
  dropout: number;
  residual: 'linear' | 'tanh';
  residualScale: number;
}

export type LevelSpec = BaseLevelSpec | RefineLevelSpec;

export const DEFAULT_BASE: Required<BaseLevelOptions> = {
  noiseDim: 100,
  gHidden: [512, 512],
  dHidden: [256, 256],
  dropout: 0.5,
  output: 'tanh',
};

export const DEFAULT_REFINE: Required<Omit<RefineLevelOptions, 'dPadding'>> = {
  gFilters: [32, 32],
  gKernel: 5,
  gOutKernel: 5,
  dFilters: 32,
  dKernel: 5,
  dropout: 0.5,
  residual: 'tanh',
  residualScale: 1,
};

/**
 * The reference CIFAR-10 models (LAPGAN demo, 8 -> 14 -> 28, class-conditional): base G
 * 600-600, finer G two 7x7 convs of 128 filters, finer D 128 filters, linear residuals.
 * About 20x slower to train than the defaults.
 */
export const LAPGAN_CIFAR10_DEMO: PyramidConfig = {
  sizes: [8, 14, 28],
  channels: 3,
  numClasses: 10,
  classNames: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
  base: { noiseDim: 100, gHidden: [600, 600], dHidden: [600, 600], dropout: 0.5, output: 'tanh' },
  refine: { gFilters: [128, 128], gKernel: 7, gOutKernel: 5, dFilters: 128, dKernel: 5, residual: 'linear' },
};

/** The scaled-down default config for `sizes` (coarse to fine), `channels` and classes. */
export function defaultPyramidConfig(options: {
  sizes?: readonly number[];
  channels?: 1 | 3;
  numClasses?: number;
  classNames?: readonly string[];
}): PyramidConfig {
  const config: PyramidConfig = {
    sizes: [...(options.sizes ?? [8, 16, 32])],
    channels: options.channels ?? 3,
    numClasses: options.numClasses ?? 0,
    base: { ...DEFAULT_BASE },
    refine: { ...DEFAULT_REFINE },
  };
  if (options.classNames !== undefined) config.classNames = [...options.classNames];
  return config;
}

function positiveInt(v: unknown, what: string, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new Error(`${where}: ${what} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function intList(v: unknown, what: string, where: string): number[] {
  if (!Array.isArray(v)) throw new Error(`${where}: ${what} must be a list of positive integers, got ${JSON.stringify(v)}`);
  return v.map((x, i) => positiveInt(x, `${what}[${i}]`, where));
}

function rate(v: unknown, what: string, where: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new Error(`${where}: ${what} must be in [0, 1), got ${JSON.stringify(v)}`);
  return v;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], what: string, where: string): T {
  if (!allowed.includes(v as T)) {
    throw new Error(`${where}: ${what} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/** Checks every field of a spec (e.g. one read from a manifest); returns a clean copy. */
export function validateLevelSpec(value: unknown, where: string): LevelSpec {
  if (typeof value !== 'object' || value === null) throw new Error(`${where}: spec must be an object`);
  const s = value as Record<string, unknown>;
  const kind = oneOf(s.kind, ['base', 'refine'] as const, 'kind', where);
  const size = positiveInt(s.size, 'size', where);
  const channels = s.channels;
  if (channels !== 1 && channels !== 3) throw new Error(`${where}: channels must be 1 or 3, got ${JSON.stringify(channels)}`);
  if (typeof s.numClasses !== 'number' || !Number.isInteger(s.numClasses) || s.numClasses < 0) {
    throw new Error(`${where}: numClasses must be an integer >= 0, got ${JSON.stringify(s.numClasses)}`);
  }
  const numClasses = s.numClasses;
  if (typeof s.perClass !== 'boolean') throw new Error(`${where}: perClass must be true or false`);
  if (s.perClass && numClasses === 0) throw new Error(`${where}: perClass needs numClasses > 0`);
  const common = { size, channels, numClasses, perClass: s.perClass } as const;
  if (kind === 'base') {
    return {
      kind,
      ...common,
      noiseDim: positiveInt(s.noiseDim, 'noiseDim', where),
      gHidden: intList(s.gHidden, 'gHidden', where),
      dHidden: intList(s.dHidden, 'dHidden', where),
      dropout: rate(s.dropout, 'dropout', where),
      output: oneOf(s.output, ['tanh', 'sigmoid'] as const, 'output', where),
    };
  }
  const inputSize = positiveInt(s.inputSize, 'inputSize', where);
  if (inputSize >= size) throw new Error(`${where}: inputSize ${inputSize} must be smaller than size ${size}`);
  const gFilters = intList(s.gFilters, 'gFilters', where);
  if (gFilters.length === 0) throw new Error(`${where}: gFilters must list at least one layer`);
  const dKernel = positiveInt(s.dKernel, 'dKernel', where);
  const dPadding = oneOf(s.dPadding, ['valid', 'same'] as const, 'dPadding', where);
  if (dPadding === 'valid' && size < 2 * dKernel - 1) {
    throw new Error(`${where}: a ${size}x${size} level is too small for D's valid ${dKernel}x${dKernel} convs; use dPadding 'same'`);
  }
  const residualScale = s.residualScale;
  if (typeof residualScale !== 'number' || !(residualScale > 0) || !Number.isFinite(residualScale)) {
    throw new Error(`${where}: residualScale must be a positive number, got ${JSON.stringify(residualScale)}`);
  }
  return {
    kind,
    ...common,
    inputSize,
    gFilters,
    gKernel: positiveInt(s.gKernel, 'gKernel', where),
    gOutKernel: positiveInt(s.gOutKernel, 'gOutKernel', where),
    dFilters: positiveInt(s.dFilters, 'dFilters', where),
    dKernel,
    dPadding,
    dropout: rate(s.dropout, 'dropout', where),
    residual: oneOf(s.residual, ['linear', 'tanh'] as const, 'residual', where),
    residualScale,
  };
}

/** Resolves a config into one spec per level (index 0: base, k: refines sizes[k-1] -> sizes[k]). */
export function levelSpecs(config: PyramidConfig): LevelSpec[] {
  const who = 'levelSpecs';
  checkSizes(config.sizes, who);
  const numClasses = config.numClasses ?? 0;
  if (config.classNames !== undefined && config.classNames.length !== numClasses) {
    throw new Error(`${who}: ${config.classNames.length} class names for ${numClasses} classes`);
  }
  const perClass = config.perClass ?? false;
  const common = { channels: config.channels, numClasses, perClass };
  const specs: LevelSpec[] = [
    validateLevelSpec({ kind: 'base', size: config.sizes[0], ...common, ...DEFAULT_BASE, ...config.base }, `${who}: level 0`),
  ];
  const refine = config.refine ?? {};
  const finer = config.sizes.length - 1;
  if (Array.isArray(refine) && refine.length !== finer) {
    throw new Error(`${who}: refine lists ${refine.length} levels but sizes [${config.sizes.join(', ')}] have ${finer} finer levels`);
  }
  for (let k = 1; k <= finer; k++) {
    const options: RefineLevelOptions = Array.isArray(refine) ? refine[k - 1]! : (refine as RefineLevelOptions);
    const size = config.sizes[k]!;
    const merged = { ...DEFAULT_REFINE, ...options };
    const dPadding = options.dPadding ?? (size >= 2 * merged.dKernel - 1 ? 'valid' : 'same');
    specs.push(
      validateLevelSpec(
        { kind: 'refine', size, inputSize: config.sizes[k - 1], ...common, ...merged, dPadding },
        `${who}: level ${k}`,
      ),
    );
  }
  return specs;
}

/** "base 8x8" or "refine 14x14 -> 28x28": how errors and descriptions name a level. */
export function describeSpec(spec: LevelSpec): string {
  return spec.kind === 'base' ? `base ${spec.size}x${spec.size}` : `refine ${spec.inputSize}x${spec.inputSize} -> ${spec.size}x${spec.size}`;
}

/**
 * Checks that levels chain into one pyramid: a base level first, then refine levels whose
 * input size is the previous level's size, all with the same channels, and class counts
 * that agree (an unconditional level, numClasses 0, fits with any). Throws naming the
 * level and the values; `where` prefixes the message.
 */
export function checkChain(specs: readonly LevelSpec[], where: string): void {
  if (specs.length === 0) throw new Error(`${where}: a pyramid needs at least one level`);
  const first = specs[0]!;
  if (first.kind !== 'base') throw new Error(`${where}: level 0 must be a base level, got ${describeSpec(first)}`);
  let classes = first.numClasses;
  let classLevel = 0;
  specs.forEach((spec, k) => {
    if (k === 0) return;
    const prev = specs[k - 1]!;
    if (spec.kind !== 'refine') throw new Error(`${where}: level ${k} must be a refine level, got ${describeSpec(spec)}`);
    if (spec.inputSize !== prev.size) {
      throw new Error(
        `${where}: level ${k} (${describeSpec(spec)}) takes ${spec.inputSize}x${spec.inputSize} images but level ${k - 1} (${describeSpec(prev)}) makes ${prev.size}x${prev.size}`,
      );
    }
    if (spec.channels !== first.channels) {
      throw new Error(`${where}: level ${k} (${describeSpec(spec)}) has ${spec.channels} channel(s) but level 0 has ${first.channels}`);
    }
    if (spec.numClasses > 0) {
      if (classes > 0 && spec.numClasses !== classes) {
        throw new Error(
          `${where}: level ${k} (${describeSpec(spec)}) has ${spec.numClasses} classes but level ${classLevel} has ${classes}`,
        );
      }
      if (classes === 0) {
        classes = spec.numClasses;
        classLevel = k;
      }
    }
  });
}
