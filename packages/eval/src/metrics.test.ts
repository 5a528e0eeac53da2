import { Rng } from '@ppgn/core';
import { describe, expect, it } from 'vitest';
import { matrix, multiply, sqrtPsd, symmetricEigen } from './linalg.js';
import {
  accuracy,
  frechetDistance,
  inceptionScore,
  meanPairwiseDistance,
  median,
  nearestNeighbours,
} from './metrics.js';

function gaussianRows(rng: Rng, n: number, means: number[], stds: number[]): Float64Array {
  const d = means.length;
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) out[i * d + k] = means[k]! + stds[k]! * rng.normal();
  return out;
}

describe('linear algebra', () => {
  it('diagonalises a symmetric matrix: A v = lambda v', () => {
    const rng = new Rng(1);
    const n = 12;
    const b = matrix(n, n, rng.normalArray(n * n));
    const bt = matrix(n, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) bt.data[i * n + j] = b.data[j * n + i]!;
    const a = multiply(b, bt);
    const { values, vectors } = symmetricEigen(a);
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let j = 0; j < n; j++) av += a.data[i * n + j]! * vectors.data[j * n + k]!;
        expect(av).toBeCloseTo(values[k]! * vectors.data[i * n + k]!, 8);
      }
    }
    const root = sqrtPsd(a);
    const squared = multiply(root, root);
    for (let i = 0; i < n * n; i++) expect(squared.data[i]).toBeCloseTo(a.data[i]!, 8);
  });
});

describe('metrics', () => {
  it('accuracy counts argmax hits', () => {
    const probs = [0.9, 0.1, 0.2, 0.8, 0.6, 0.4];
    expect(accuracy(probs, 2, [0, 1, 1])).toBeCloseTo(2 / 3);
    expect(() => accuracy(probs, 2, [0, 1])).toThrow(/3 predictions but 2 labels/);
  });

  it('inception score is K for confident even classes and 1 for one class', () => {
    const k = 4;
    const even: number[] = [];
    const same: number[] = [];
    for (let i = 0; i < 40; i++) for (let c = 0; c < k; c++) {
      even.push(c === i % k ? 1 : 0);
      same.push(c === 0 ? 1 : 0);
    }
    expect(inceptionScore(even, k)).toBeCloseTo(4, 10);
    expect(inceptionScore(same, k)).toBeCloseTo(1, 10);
  });

  it('frechet distance is ~0 for one set, and matches the closed form for diagonal Gaussians', () => {
    const rng = new Rng(2);
    const a = gaussianRows(rng, 20000, [0, 1, -1], [1, 2, 0.5]);
    expect(frechetDistance(a, a, 3)).toBeLessThan(1e-6);
    const b = gaussianRows(rng, 20000, [1, 1, 0], [2, 1, 0.5]);
    // ||mu||^2 = 1 + 0 + 1; trace term per dim (s1 - s2)^2 = 1 + 1 + 0
    expect(frechetDistance(a, b, 3)).toBeCloseTo(4, 1);
    expect(() => frechetDistance([1, 2, 3], a, 2)).toThrow(/not a whole number of 2-d rows/);
  });

  it('mean pairwise distance and exact nearest neighbours', () => {
    expect(meanPairwiseDistance([0, 0, 3, 4, 0, 0], 2)).toBeCloseTo((5 + 0 + 5) / 3);
    const refs = [0, 0, 10, 0, 0, 10, 10, 10];
    const nn = nearestNeighbours([9, 2, 1, 1], refs, 2, 2);
    expect(Array.from(nn.indices[0]!)).toEqual([1, 3]);
    expect(Array.from(nn.indices[1]!)).toEqual([0, 1]);
    expect(nn.distances[1]![0]).toBeCloseTo(Math.SQRT2);
    expect(() => nearestNeighbours([0, 0], refs, 2, 5)).toThrow(/k = 5 but there are 4 references/);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });
});
