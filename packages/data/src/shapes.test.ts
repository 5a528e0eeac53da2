import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  captionScene,
  renderScene,
  SHAPE_BACKGROUND_RGB,
  SHAPE_COLOR_RGB,
  SHAPE_COLORS,
  SHAPE_KINDS,
  SHAPE_RELATIONS,
  SHAPE_SIZES,
  type ShapeObject,
  type ShapeScene,
  SHAPES_VOCABULARY,
  shapes,
} from './shapes.js';

const S = 32;

function pixelAt(img: Float32Array, x: number, y: number): number[] {
  const p = (Math.floor(y) * S + Math.floor(x)) * 3;
  return [img[p]!, img[p + 1]!, img[p + 2]!];
}

/** Parses "a [size] colour shape" back into attributes. */
function parseObject(words: string[]): { size?: string; color: string; shape: string } {
  expect(words[0]).toBe('a');
  if (words.length === 4) return { size: words[1]!, color: words[2]!, shape: words[3]! };
  expect(words).toHaveLength(3);
  return { color: words[1]!, shape: words[2]! };
}

describe('shapes', () => {
  it('is deterministic by seed and differs across seeds', () => {
    const a = shapes({ size: 20, seed: 11 });
    const b = shapes({ size: 20, seed: 11 });
    const c = shapes({ size: 20, seed: 12 });
    expect(b.captions).toEqual(a.captions);
    expect(b.scenes).toEqual(a.scenes);
    const xa = a.images({ start: 0, end: 20 });
    const xb = b.images({ start: 0, end: 20 });
    const xc = c.images({ start: 0, end: 20 });
    expect(Array.from(xb.dataSync())).toEqual(Array.from(xa.dataSync()));
    expect(c.captions).not.toEqual(a.captions);
    expect(tf.max(tf.abs(tf.sub(xa, xc))).dataSync()[0]).toBeGreaterThan(0.5);
    // item i depends only on (seed, i): a longer dataset starts with the same items
    expect(shapes({ size: 40, seed: 11 }).captions.slice(0, 20)).toEqual(a.captions);
    tf.dispose([xa, xb, xc]);
  });

  it('has images of 32x32x3 in [0, 1], labels of the first shape, and a vocabulary', () => {
    const ds = shapes({ size: 200, seed: 1 });
    expect(ds.imageShape).toEqual([32, 32, 3]);
    expect(ds.classNames).toEqual(['circle', 'square', 'triangle']);
    expect(ds.scenes.map((s) => s.objects[0]!.shape)).toEqual(Array.from(ds.labels, (l) => ds.classNames[l]));
    const x = ds.images({ start: 0, end: 200 });
    expect(x.shape).toEqual([200, 32, 32, 3]);
    expect(tf.min(x).dataSync()[0]).toBeGreaterThanOrEqual(0);
    expect(tf.max(x).dataSync()[0]).toBeLessThanOrEqual(1);
    x.dispose();
    expect(SHAPES_VOCABULARY).toEqual([...SHAPES_VOCABULARY].sort());
    expect(SHAPES_VOCABULARY).toEqual([
      'a', 'above', 'below', 'blue', 'circle', 'green', 'large', 'left', 'of', 'red', 'right', 'small', 'square',
      'triangle', 'white', 'yellow',
    ]);
    // every word used is in the vocabulary, and every word is used somewhere
    const used = new Set(ds.captions.flatMap((c) => c.split(' ')));
    for (const w of used) expect(SHAPES_VOCABULARY).toContain(w);
    expect([...used].sort()).toEqual(SHAPES_VOCABULARY);
    const counts = [1, 2].map((n) => ds.scenes.filter((s) => s.objects.length === n).length);
    expect(Math.min(...counts)).toBeGreaterThan(60);
    const cs = shapes({ size: 30, seed: 1, label: 'color-shape' });
    expect(cs.classNames).toHaveLength(15);
    expect(cs.scenes.map((s) => `${s.objects[0]!.color} ${s.objects[0]!.shape}`)).toEqual(
      Array.from(cs.labels, (l) => cs.classNames[l]),
    );
  });

  it('captions state the attributes', () => {
    const ds = shapes({ size: 300, seed: 2 });
    ds.scenes.forEach((scene, i) => {
      const caption = ds.captions[i]!;
      expect(caption).toBe(scene.caption);
      const words = caption.split(' ');
      let objects: ReturnType<typeof parseObject>[];
      if (scene.objects.length === 1) objects = [parseObject(words)];
      else {
        const rel = SHAPE_RELATIONS.find((r) => caption.includes(` ${r} `))!;
        expect(rel).toBe(scene.relation);
        const [left, right] = caption.split(` ${rel} `);
        objects = [parseObject(left!.split(' ')), parseObject(right!.split(' '))];
      }
      objects.forEach((o, k) => {
        const attrs = scene.objects[k]!;
        expect(o.color).toBe(attrs.color);
        expect(o.shape).toBe(attrs.shape);
        expect(o.size).toBe(attrs.sizeSaid ? attrs.size : undefined);
        expect(SHAPE_COLORS).toContain(o.color);
        expect(SHAPE_KINDS).toContain(o.shape);
        if (o.size !== undefined) expect(SHAPE_SIZES).toContain(o.size);
      });
      if (scene.background === 'light') expect(scene.objects.map((o) => o.color)).not.toContain('white');
    });
  });

  it('draws each object in its colour at its centre, inside the image, over a plain background', () => {
    const ds = shapes({ size: 300, seed: 3 });
    const x = ds.images({ start: 0, end: 300 });
    const all = x.dataSync();
    ds.scenes.forEach((scene, i) => {
      const img = all.subarray(i * S * S * 3, (i + 1) * S * S * 3) as Float32Array;
      for (const o of scene.objects) {
        const got = pixelAt(img, o.x, o.y);
        const want = SHAPE_COLOR_RGB[o.color];
        expect(Math.max(...got.map((v, c) => Math.abs(v - want[c]!)))).toBeLessThan(1e-6);
        expect(o.x - o.radius).toBeGreaterThanOrEqual(1);
        expect(o.y - o.radius).toBeGreaterThanOrEqual(1);
        expect(o.x + o.radius).toBeLessThanOrEqual(S - 1);
        expect(o.y + o.radius).toBeLessThanOrEqual(S - 1);
        const [lo, hi] = o.size === 'small' ? [0.11 * S, 0.14 * S] : [0.19 * S, 0.23 * S];
        expect(o.radius).toBeGreaterThanOrEqual(lo);
        expect(o.radius).toBeLessThanOrEqual(hi);
      }
      // the outermost ring of pixels is pure background
      const bg = SHAPE_BACKGROUND_RGB[scene.background];
      let worst = 0;
      for (let k = 0; k < S; k++) {
        for (const [px, py] of [
          [k, 0],
          [k, S - 1],
          [0, k],
          [S - 1, k],
        ] as const) {
          pixelAt(img, px, py).forEach((v, c) => {
            worst = Math.max(worst, Math.abs(v - bg[c]!));
          });
        }
      }
      expect(worst).toBeLessThan(1e-6);
    });
    x.dispose();
  });

  it('makes relation words geometrically true, with objects apart', () => {
    const ds = shapes({ size: 300, seed: 4, objects: 2 });
    const seen = new Set<string>();
    for (const { objects, relation } of ds.scenes) {
      const [a, b] = objects as [ShapeObject, ShapeObject];
      seen.add(relation!);
      const gap = a.radius + b.radius + 1;
      if (relation === 'above') expect(b.y - a.y).toBeGreaterThanOrEqual(gap);
      if (relation === 'below') expect(a.y - b.y).toBeGreaterThanOrEqual(gap);
      if (relation === 'left of') expect(b.x - a.x).toBeGreaterThanOrEqual(gap);
      if (relation === 'right of') expect(a.x - b.x).toBeGreaterThanOrEqual(gap);
      const vertical = relation === 'above' || relation === 'below';
      const along = Math.abs(vertical ? a.y - b.y : a.x - b.x);
      const across = Math.abs(vertical ? a.x - b.x : a.y - b.y);
      expect(across).toBeLessThanOrEqual(0.5 * along);
    }
    expect([...seen].sort()).toEqual([...SHAPE_RELATIONS].sort());
  });

  it('rasterizes shapes that can be told apart, with anti-aliased edges', () => {
    const one = (shape: ShapeObject['shape']): ShapeScene => {
      const objects: ShapeObject[] = [{ shape, color: 'white', size: 'large', x: 16, y: 16, radius: 8, sizeSaid: false }];
      return { objects, background: 'dark', caption: captionScene({ objects }) };
    };
    const coverage = (shape: ShapeObject['shape']) => {
      const img = renderScene(one(shape), S);
      const bg = SHAPE_BACKGROUND_RGB.dark[0];
      let area = 0;
      let partial = 0;
      for (let p = 0; p < img.length; p += 3) {
        const a = (img[p]! - bg) / (SHAPE_COLOR_RGB.white[0] - bg);
        area += a;
        if (a > 0.01 && a < 0.99) partial++;
      }
      return { area, partial, img };
    };
    const square = coverage('square');
    const circle = coverage('circle');
    const triangle = coverage('triangle');
    expect(square.area).toBeCloseTo(256, 0); // (2 * 8)^2
    expect(circle.area).toBeCloseTo(Math.PI * 64, -1);
    expect(triangle.area).toBeCloseTo(128, -1); // base 16, height 16
    expect(circle.partial).toBeGreaterThan(20);
    // the triangle points up: wide at the bottom of its box, narrow at the top
    const rowWidth = (img: Float32Array, y: number) => {
      let w = 0;
      for (let j = 0; j < S; j++) w += img[(y * S + j) * 3]! > 0.5 ? 1 : 0;
      return w;
    };
    expect(rowWidth(triangle.img, 22)).toBeGreaterThan(rowWidth(triangle.img, 10) + 6);
    expect(one('circle').caption).toBe('a white circle');
  });

  it('validates its options', () => {
    expect(() => shapes({ imageSize: 8 })).toThrow(/at least 16/);
    // biome-ignore lint/suspicious/noExplicitAny: testing a bad option on purpose
    expect(() => shapes({ objects: 3 as any })).toThrow(/objects must be 1, 2 or 'mixed'/);
    const big = shapes({ size: 5, seed: 9, imageSize: 64 });
    const x = big.images([0, 4]);
    expect(x.shape).toEqual([2, 64, 64, 3]);
    x.dispose();
  });
});
