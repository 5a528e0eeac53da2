import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';

describe('Rng', () => {
  it('repeats for the same seed and differs for another', () => {
    const a = new Rng(42).uniformArray(100);
    const b = new Rng(42).uniformArray(100);
    const c = new Rng(43).uniformArray(100);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('draws uniforms in [0, 1) and standard normals', () => {
    const rng = new Rng(7);
    const u = rng.uniformArray(20000);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    const n = rng.normalArray(20000);
    const mean = n.reduce((s, v) => s + v, 0) / n.length;
    const variance = n.reduce((s, v) => s + (v - mean) ** 2, 0) / n.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(Math.sqrt(variance) - 1)).toBeLessThan(0.03);
  });

  it('makes tensors of the requested shape and moments', () => {
    const t = new Rng(1).normalTensor([50, 40], 2, 0.5);
    expect(t.shape).toEqual([50, 40]);
    const { mean, variance } = tf.moments(t);
    expect(mean.dataSync()[0]).toBeCloseTo(2, 1);
    expect(Math.sqrt(variance.dataSync()[0]!)).toBeCloseTo(0.5, 1);
    tf.dispose([t, mean, variance]);
  });

  it('shuffles to a permutation, forks independent streams, rejects a bad seed', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const shuffled = new Rng(3).shuffle([...items]);
    expect([...shuffled].sort((a, b) => a - b)).toEqual(items);
    expect(shuffled).not.toEqual(items);
    const parent = new Rng(9);
    const child = parent.fork();
    expect(child.uniform()).not.toBe(parent.uniform());
    expect(() => new Rng(Number.NaN)).toThrow(/seed/);
  });
});
