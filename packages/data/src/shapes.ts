import { createRng, type Rng } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { type Dataset, type IndexSelection, resolveIndices } from './dataset.js';

/** The shapes a scene can hold. */
export const SHAPE_KINDS = ['circle', 'square', 'triangle'] as const;
/** A shape of `SHAPE_KINDS`. */
export type ShapeKind = (typeof SHAPE_KINDS)[number];

/** The colours an object can have; `SHAPE_COLOR_RGB` gives their exact values. */
export const SHAPE_COLORS = ['red', 'green', 'blue', 'yellow', 'white'] as const;
/** A colour of `SHAPE_COLORS`. */
export type ShapeColor = (typeof SHAPE_COLORS)[number];

/** RGB in [0, 1] of each object colour. Objects are drawn in exactly these colours. */
export const SHAPE_COLOR_RGB: Readonly<Record<ShapeColor, readonly [number, number, number]>> = {
  red: [0.9, 0.12, 0.12],
  green: [0.15, 0.75, 0.2],
  blue: [0.15, 0.35, 0.95],
  yellow: [0.95, 0.85, 0.1],
  white: [0.97, 0.97, 0.97],
};

/** The two size classes of an object. */
export const SHAPE_SIZES = ['small', 'large'] as const;
/** A size of `SHAPE_SIZES`. */
export type ShapeSize = (typeof SHAPE_SIZES)[number];

/** How the first object of a two-object scene sits relative to the second. */
export const SHAPE_RELATIONS = ['above', 'below', 'left of', 'right of'] as const;
/** A relation of `SHAPE_RELATIONS`. */
export type ShapeRelation = (typeof SHAPE_RELATIONS)[number];

/** Plain backgrounds. Any colour may sit on 'dark'; 'light' never holds a white object. */
export const SHAPE_BACKGROUNDS = ['dark', 'light'] as const;
/** A background of `SHAPE_BACKGROUNDS`. */
export type ShapeBackground = (typeof SHAPE_BACKGROUNDS)[number];

/** RGB in [0, 1] of each background. */
export const SHAPE_BACKGROUND_RGB: Readonly<Record<ShapeBackground, readonly [number, number, number]>> = {
  dark: [0.08, 0.08, 0.1],
  light: [0.72, 0.72, 0.7],
};

/**
 * Every word a shapes caption can contain, sorted. A caption is built by the grammar
 *   caption  := object | object " " relation " " object
 *   object   := "a " [size " "] colour " " shape
 *   relation := "above" | "below" | "left of" | "right of"
 *   size     := "small" | "large";  colour := SHAPE_COLORS;  shape := SHAPE_KINDS
 */
export const SHAPES_VOCABULARY: readonly string[] = [
  ...new Set(['a', ...SHAPE_SIZES, ...SHAPE_COLORS, ...SHAPE_KINDS, ...SHAPE_RELATIONS.flatMap((r) => r.split(' '))]),
].sort();

/** One object of a scene. Coordinates are in pixels of the image it was made for. */
export interface ShapeObject {
  shape: ShapeKind;
  color: ShapeColor;
  size: ShapeSize;
  /** Centre, in pixels from the left edge (pixel i covers [i, i + 1)). */
  x: number;
  /** Centre, in pixels from the top edge. */
  y: number;
  /**
   * Half the side of the object's square bounding box, in pixels. A circle has this
   * radius; a square this half-side; a triangle has its apex at (x, y - radius) and its
   * base from (x - radius, y + radius) to (x + radius, y + radius).
   */
  radius: number;
  /** Whether the caption names this object's size. */
  sizeSaid: boolean;
}

/** The structured attributes of one item, from which its image and caption are made. */
export interface ShapeScene {
  /** One or two objects, drawn in this order; the first is the subject of the caption. */
  objects: ShapeObject[];
  /** For two objects: objects[0] is `relation` objects[1] (e.g. above: smaller y). */
  relation?: ShapeRelation;
  background: ShapeBackground;
  caption: string;
}

/** What the class label of a shapes item is. */
export type ShapesLabel = 'shape' | 'color' | 'color-shape';

/** Options of `shapes`. */
export interface ShapesOptions {
  /** Number of items (default 1000). Any size: items are made on demand from the seed. */
  size?: number;
  /** Seed (default 0). Item i depends only on (seed, i, imageSize, objects). */
  seed?: number;
  /** Width and height in pixels (default 32, at least 16). */
  imageSize?: number;
  /** Objects per scene: always 1, always 2, or 'mixed' (1 or 2, even odds; default). */
  objects?: 1 | 2 | 'mixed';
  /**
   * The class label, always of the first object (the caption's subject): 'shape'
   * (circle, square, triangle; default), 'color' (the 5 colours) or 'color-shape'
   * (15 classes, "red circle" ... "white triangle", colour-major).
   */
  label?: ShapesLabel;
}

/** A shapes dataset: images, labels, captions, and the attributes behind them. */
export interface ShapesDataset extends Dataset {
  readonly captions: readonly string[];
  /** The attributes of each item. */
  readonly scenes: readonly ShapeScene[];
  /** `SHAPES_VOCABULARY`: every word a caption can contain, sorted. */
  readonly vocabulary: readonly string[];
  readonly seed: number;
}

/**
 * Procedural 32x32 RGB scenes of one or two flat shapes on a plain background, each with
 * an English caption ("a red circle", "a small blue square above a yellow triangle") and
 * its structured attributes. Deterministic: the same options give the same pixels. Images
 * are drawn with an anti-aliased rasterizer when read, so any size costs little memory.
 * Two-object scenes never overlap and their relation is unambiguous: along the relation's
 * axis the bounding boxes are at least 1 pixel apart, and the offset across that axis is at
 * most half the offset along it. Every object stays at least 1 pixel inside the image.
 */
export function shapes(options: ShapesOptions = {}): ShapesDataset {
  const { size = 1000, seed = 0, imageSize = 32, objects = 'mixed', label = 'shape' } = options;
  if (!Number.isInteger(size) || size < 0) throw new Error(`shapes: size must be a non-negative integer, got ${size}`);
  if (!Number.isInteger(imageSize) || imageSize < 16) {
    throw new Error(`shapes: imageSize must be an integer of at least 16, got ${imageSize}`);
  }
  if (objects !== 1 && objects !== 2 && objects !== 'mixed') {
    throw new Error(`shapes: objects must be 1, 2 or 'mixed', got ${JSON.stringify(objects)}`);
  }
  const classNames = shapesClassNames(label);
  const scenes = Array.from({ length: size }, (_, i) => generateScene(seed, i, { imageSize, objects }));
  const labels = Int32Array.from(scenes, (s) => classNames.indexOf(sceneClassName(s, label)));
  const name = `shapes(seed=${seed})`;
  const per = imageSize * imageSize * 3;
  return {
    name,
    imageShape: [imageSize, imageSize, 3],
    classNames,
    size,
    labels,
    captions: scenes.map((s) => s.caption),
    scenes,
    vocabulary: SHAPES_VOCABULARY,
    seed,
    images(select: IndexSelection): Tensor4D {
      const idx = resolveIndices(select, size, `${name}.images`);
      const out = new Float32Array(idx.length * per);
      idx.forEach((i, k) => {
        renderScene(scenes[i]!, imageSize, out.subarray(k * per, (k + 1) * per));
      });
      return tf.tensor4d(out, [idx.length, imageSize, imageSize, 3], 'float32');
    },
  };
}

/** The class names for a `label` choice, in label-index order. */
export function shapesClassNames(label: ShapesLabel): string[] {
  if (label === 'shape') return [...SHAPE_KINDS];
  if (label === 'color') return [...SHAPE_COLORS];
  if (label === 'color-shape') return SHAPE_COLORS.flatMap((c) => SHAPE_KINDS.map((s) => `${c} ${s}`));
  throw new Error(`shapes: label must be 'shape', 'color' or 'color-shape', got ${JSON.stringify(label)}`);
}

function sceneClassName(scene: ShapeScene, label: ShapesLabel): string {
  const first = scene.objects[0]!;
  return label === 'shape' ? first.shape : label === 'color' ? first.color : `${first.color} ${first.shape}`;
}

/** A 32-bit seed for item `index` of the stream `seed`, so items are made independently. */
function itemSeed(seed: number, index: number): number {
  let h = Math.imul((Math.floor(seed) >>> 0) ^ 0x9e3779b9, 0x85ebca6b);
  h ^= Math.imul(index + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

function radiusFor(size: ShapeSize, imageSize: number, rng: Rng): number {
  return imageSize * (size === 'small' ? 0.11 + 0.03 * rng.uniform() : 0.19 + 0.04 * rng.uniform());
}

/** A coordinate that keeps a box of half-side r at least 1 pixel inside [0, imageSize]. */
function coordFor(r: number, imageSize: number, rng: Rng): number {
  return r + 1 + rng.uniform() * (imageSize - 2 * r - 2);
}

/**
 * The scene of item `index` of the stream `seed` (what `shapes` uses for its items).
 */
export function generateScene(
  seed: number,
  index: number,
  options: { imageSize?: number; objects?: 1 | 2 | 'mixed' } = {},
): ShapeScene {
  const { imageSize = 32, objects = 'mixed' } = options;
  const rng = createRng(itemSeed(seed, index));
  const count = objects === 'mixed' ? 1 + rng.int(2) : objects;
  const background = pick(rng, SHAPE_BACKGROUNDS);
  const colors = background === 'light' ? SHAPE_COLORS.filter((c) => c !== 'white') : SHAPE_COLORS;
  const objs: ShapeObject[] = Array.from({ length: count }, () => {
    const size = pick(rng, SHAPE_SIZES);
    return {
      shape: pick(rng, SHAPE_KINDS),
      color: pick(rng, colors),
      size,
      x: 0,
      y: 0,
      radius: radiusFor(size, imageSize, rng),
      sizeSaid: rng.uniform() < 0.5,
    };
  });
  let relation: ShapeRelation | undefined;
  if (count === 1) {
    const o = objs[0]!;
    o.x = coordFor(o.radius, imageSize, rng);
    o.y = coordFor(o.radius, imageSize, rng);
  } else {
    relation = pick(rng, SHAPE_RELATIONS);
    placePair(objs[0]!, objs[1]!, relation, imageSize, rng);
  }
  const scene: ShapeScene = { objects: objs, background, caption: '' };
  if (relation !== undefined) scene.relation = relation;
  scene.caption = captionScene(scene);
  return scene;
}

function placePair(a: ShapeObject, b: ShapeObject, relation: ShapeRelation, imageSize: number, rng: Rng): void {
  const vertical = relation === 'above' || relation === 'below';
  // sign: +1 when a's coordinate along the axis is smaller (above / left of)
  const sign = relation === 'above' || relation === 'left of' ? 1 : -1;
  for (let attempt = 0; attempt < 100_000; attempt++) {
    if (attempt > 0 && attempt % 20 === 0) {
      a.radius = radiusFor(a.size, imageSize, rng);
      b.radius = radiusFor(b.size, imageSize, rng);
    }
    const ax = coordFor(a.radius, imageSize, rng);
    const ay = coordFor(a.radius, imageSize, rng);
    const bx = coordFor(b.radius, imageSize, rng);
    const by = coordFor(b.radius, imageSize, rng);
    const along = sign * (vertical ? by - ay : bx - ax);
    const across = Math.abs(vertical ? bx - ax : by - ay);
    if (along >= a.radius + b.radius + 1 && across <= 0.5 * along) {
      Object.assign(a, { x: ax, y: ay });
      Object.assign(b, { x: bx, y: by });
      return;
    }
  }
  throw new Error(`shapes: could not place two objects ${relation} each other in ${imageSize}x${imageSize}`);
}

function objectPhrase(o: ShapeObject): string {
  return `a ${o.sizeSaid ? `${o.size} ` : ''}${o.color} ${o.shape}`;
}

/** The caption of a scene, by the grammar of `SHAPES_VOCABULARY`. */
export function captionScene(scene: Pick<ShapeScene, 'objects' | 'relation'>): string {
  const [a, b] = scene.objects;
  if (a === undefined) throw new Error('captionScene: a scene needs at least one object');
  if (b === undefined) return objectPhrase(a);
  if (scene.relation === undefined) throw new Error('captionScene: a two-object scene needs a relation');
  return `${objectPhrase(a)} ${scene.relation} ${objectPhrase(b)}`;
}

/** Signed distance in pixels from (px, py) to the object's outline (negative inside). */
function signedDistance(o: ShapeObject, px: number, py: number): number {
  const dx = px - o.x;
  const dy = py - o.y;
  const r = o.radius;
  if (o.shape === 'circle') return Math.hypot(dx, dy) - r;
  if (o.shape === 'square') {
    const qx = Math.abs(dx) - r;
    const qy = Math.abs(dy) - r;
    return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0);
  }
  // triangle, symmetric about x: apex (0, -r), base corners (+-r, r)
  const ax = Math.abs(dx);
  const inside = dy <= r && 2 * ax - (dy + r) <= 0;
  const d = Math.min(segmentDistance(ax, dy, 0, -r, r, r), segmentDistance(ax, dy, -r, r, r, r));
  return inside ? -d : d;
}

/** Distance from (px, py) to the segment (x0, y0)-(x1, y1). */
function segmentDistance(px: number, py: number, x0: number, y0: number, x1: number, y1: number): number {
  const vx = x1 - x0;
  const vy = y1 - y0;
  const t = Math.min(1, Math.max(0, ((px - x0) * vx + (py - y0) * vy) / (vx * vx + vy * vy)));
  return Math.hypot(px - x0 - t * vx, py - y0 - t * vy);
}

/**
 * Draws a scene into `out` (HWC RGB floats in [0, 1], `imageSize`^2 * 3 values; a new
 * array when not given) and returns it. Each pixel is covered by clamp(0.5 - d, 0, 1) of
 * an object, d being the signed distance from the pixel centre to the outline: a one-pixel
 * anti-aliased edge, and exactly the object's colour deeper inside.
 */
export function renderScene(scene: ShapeScene, imageSize = 32, out?: Float32Array): Float32Array {
  const n = imageSize * imageSize * 3;
  const img = out ?? new Float32Array(n);
  if (img.length !== n) throw new Error(`renderScene: out has ${img.length} values, expected ${n}`);
  const bg = SHAPE_BACKGROUND_RGB[scene.background];
  for (let p = 0; p < n; p += 3) {
    img[p] = bg[0];
    img[p + 1] = bg[1];
    img[p + 2] = bg[2];
  }
  for (const o of scene.objects) {
    const rgb = SHAPE_COLOR_RGB[o.color];
    const y0 = Math.max(0, Math.floor(o.y - o.radius - 1));
    const y1 = Math.min(imageSize - 1, Math.ceil(o.y + o.radius + 1));
    const x0 = Math.max(0, Math.floor(o.x - o.radius - 1));
    const x1 = Math.min(imageSize - 1, Math.ceil(o.x + o.radius + 1));
    for (let i = y0; i <= y1; i++) {
      for (let j = x0; j <= x1; j++) {
        const a = Math.min(1, Math.max(0, 0.5 - signedDistance(o, j + 0.5, i + 0.5)));
        if (a === 0) continue;
        const p = (i * imageSize + j) * 3;
        for (let c = 0; c < 3; c++) img[p + c] = img[p + c]! * (1 - a) + rgb[c]! * a;
      }
    }
  }
  return img;
}
