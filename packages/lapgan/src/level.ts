import type { ImageShape } from '@ppgn/core';
import { buildDiscriminator, buildGenerator, type LevelNets } from './networks.js';
import { seedSource, streamRng } from './seeds.js';
import { checkChain, describeSpec, type LevelSpec, levelSpecs, type PyramidConfig } from './spec.js';

/** Where a level came from, kept in saved pyramids. */
export interface LevelInfo {
  /** Training steps the level has had. */
  steps?: number;
  /** Free text: the data set or pyramid it was trained on. */
  source?: string;
}

/**
 * One level of a pyramid: its spec and its networks (one pair, or one pair per class for
 * a per-class level). Owns the networks' tensors.
 */
export class PyramidLevel {
  private disposed = false;

  constructor(
    readonly spec: LevelSpec,
    readonly nets: readonly LevelNets[],
    readonly info: LevelInfo = {},
  ) {
    const expected = spec.perClass ? spec.numClasses : 1;
    if (nets.length !== expected) {
      throw new Error(`PyramidLevel: ${describeSpec(spec)} needs ${expected} network pair(s), got ${nets.length}`);
    }
  }

  /** The networks that make class `classIndex` (any class for a shared pair). */
  netsFor(classIndex: number | null): LevelNets {
    if (!this.spec.perClass) return this.nets[0]!;
    if (classIndex === null) throw new Error(`PyramidLevel: ${describeSpec(this.spec)} has one network per class; pass a class`);
    const nets = this.nets[classIndex];
    if (nets === undefined) {
      throw new Error(`PyramidLevel: class ${classIndex} is out of range for ${describeSpec(this.spec)} (${this.spec.numClasses} classes)`);
    }
    return nets;
  }

  /** Whether every pair has its discriminator (needed to train). */
  get hasDiscriminators(): boolean {
    return this.nets.every((n) => n.d !== null);
  }

  /** Parameters of one network pair (D is null when not loaded). */
  paramCounts(): { g: number; d: number | null } {
    const nets = this.nets[0]!;
    return { g: nets.g.countParams(), d: nets.d === null ? null : nets.d.countParams() };
  }

  describe(): string {
    const { g, d } = this.paramCounts();
    const cls = this.spec.numClasses === 0 ? 'unconditional' : this.spec.perClass ? `${this.spec.numClasses} per-class pairs` : `${this.spec.numClasses} classes`;
    return `${describeSpec(this.spec)} (${cls}; G ${g} params${d === null ? '' : `, D ${d} params`})`;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Frees the networks. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const n of this.nets) {
      n.g.dispose();
      n.d?.dispose();
    }
  }
}

export interface CreateLevelOptions {
  /** Seed of the initial weights. Default 0. */
  seed?: number;
  /** Build the discriminators too (needed for training). Default true. */
  discriminators?: boolean;
}

/** A level with freshly initialised networks (the same weights for the same spec and seed). */
export function createLevel(spec: LevelSpec, options: CreateLevelOptions = {}): PyramidLevel {
  const withD = options.discriminators ?? true;
  const count = spec.perClass ? spec.numClasses : 1;
  const nets: LevelNets[] = [];
  for (let c = 0; c < count; c++) {
    const seed = seedSource(streamRng(options.seed ?? 0, c));
    const g = buildGenerator(spec, seed);
    nets.push({ g, d: withD ? buildDiscriminator(spec, seed) : null });
  }
  return new PyramidLevel(spec, nets);
}

export interface PyramidOptions {
  classNames?: readonly string[];
}

/**
 * A LAPGAN: levels from coarse (index 0, the base GAN) to fine. Checks that the levels
 * chain (sizes, channels, class counts). Owns its levels; several pyramids may share
 * level objects (see `assemblePyramid`), and disposing a level twice is harmless.
 */
export class LapganPyramid {
  readonly levels: readonly PyramidLevel[];
  readonly classNames: readonly string[] | undefined;

  constructor(levels: readonly PyramidLevel[], options: PyramidOptions = {}) {
    checkChain(
      levels.map((l) => l.spec),
      'LapganPyramid',
    );
    this.levels = [...levels];
    const k = this.numClasses;
    if (options.classNames !== undefined && options.classNames.length !== k) {
      throw new Error(`LapganPyramid: ${options.classNames.length} class names for ${k} classes`);
    }
    this.classNames = options.classNames === undefined ? undefined : [...options.classNames];
  }

  /** Level sizes, coarse to fine. */
  get sizes(): number[] {
    return this.levels.map((l) => l.spec.size);
  }

  get channels(): 1 | 3 {
    return this.levels[0]!.spec.channels;
  }

  /** Classes of the conditional levels (0 when every level is unconditional). */
  get numClasses(): number {
    return Math.max(...this.levels.map((l) => l.spec.numClasses));
  }

  /** Shape of the finest images. */
  get imageShape(): ImageShape {
    const s = this.sizes[this.sizes.length - 1]!;
    return [s, s, this.channels];
  }

  /** The name of class `c` (or `class c`). */
  className(c: number): string {
    return this.classNames?.[c] ?? `class ${c}`;
  }

  describe(): string {
    const k = this.numClasses;
    return `LAPGAN ${this.sizes.join(' -> ')} (${this.channels} channel(s), ${k === 0 ? 'unconditional' : `${k} classes`}): ${this.levels.map((l) => l.describe()).join('; ')}`;
  }

  /** Frees every level. Safe to call twice. */
  dispose(): void {
    for (const l of this.levels) l.dispose();
  }
}

/** A pyramid of freshly initialised levels for `config`; level k's weights come from seed (seed, k). */
export function createPyramid(config: PyramidConfig, options: CreateLevelOptions = {}): LapganPyramid {
  const specs = levelSpecs(config);
  const levels = specs.map((spec, k) =>
    createLevel(spec, { seed: levelSeed(options.seed ?? 0, k), discriminators: options.discriminators }),
  );
  return new LapganPyramid(levels, config.classNames === undefined ? {} : { classNames: config.classNames });
}

/** The initial-weight seed of level k of a pyramid seeded with `seed` (shared by createPyramid and trainLevel). */
export function levelSeed(seed: number, k: number): number {
  return streamRng(seed, 0x1e7e1, k).int(2 ** 31 - 1);
}

/**
 * A pyramid made of levels taken from other pyramids, e.g. the coarse levels of one
 * trained on one data set and the finest level of another. The levels are shared, not
 * copied: dispose either the sources or the assembled pyramid (disposing a level twice is
 * harmless, but using a pyramid after its levels were disposed is not). Throws naming the
 * level when sizes, channels or class counts do not chain.
 */
export function assemblePyramid(levels: readonly PyramidLevel[], options: PyramidOptions = {}): LapganPyramid {
  checkChain(
    levels.map((l) => l.spec),
    'assemblePyramid',
  );
  const disposed = levels.findIndex((l) => l.isDisposed);
  if (disposed >= 0) throw new Error(`assemblePyramid: level ${disposed} has been disposed`);
  return new LapganPyramid(levels, options);
}
