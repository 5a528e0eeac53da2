import { columnMeans, covariance, type Matrix, matrix, multiply, sqrtPsd, symmetricEigen } from './linalg.js';

/**
 * Metrics over plain arrays (row-major, one row per image), so they are exact, cheap to
 * test, and independent of any tfjs backend.
 */

function rowsOf(data: ArrayLike<number>, dim: number, what: string): number {
  if (dim <= 0 || data.length % dim !== 0) {
    throw new Error(`${what}: ${data.length} values is not a whole number of ${dim}-d rows`);
  }
  return data.length / dim;
}

/** Fraction of rows whose argmax equals the intended label. */
export function accuracy(probs: ArrayLike<number>, numClasses: number, labels: ArrayLike<number>): number {
  const n = rowsOf(probs, numClasses, 'accuracy');
  if (labels.length !== n) throw new Error(`accuracy: ${n} predictions but ${labels.length} labels`);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < numClasses; k++) {
      if (probs[i * numClasses + k]! > probs[i * numClasses + best]!) best = k;
    }
    if (best === labels[i]) correct++;
  }
  return n === 0 ? 0 : correct / n;
}

/**
 * The classifier-based Inception Score exp(E_x KL(p(y|x) || p(y))) over class probabilities:
 * 1 when every sample gets the same prediction, K for confident, evenly spread classes.
 */
export function inceptionScore(probs: ArrayLike<number>, numClasses: number): number {
  const n = rowsOf(probs, numClasses, 'inceptionScore');
  const marginal = new Float64Array(numClasses);
  for (let i = 0; i < n; i++) for (let k = 0; k < numClasses; k++) marginal[k]! += probs[i * numClasses + k]! / n;
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < numClasses; k++) {
      const p = probs[i * numClasses + k]!;
      if (p > 0) kl += p * (Math.log(p) - Math.log(marginal[k]!));
    }
  }
  return Math.exp(kl / n);
}

/**
 * Frechet distance between Gaussians fitted to two feature sets:
 * ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)), with the trace of the root taken as
 * Tr((S_a^(1/2) S_b S_a^(1/2))^(1/2)) so only symmetric eigen-decompositions are needed.
 */
export function frechetDistance(a: ArrayLike<number>, b: ArrayLike<number>, dim: number): number {
  const ma = matrix(rowsOf(a, dim, 'frechetDistance (a)'), dim, a);
  const mb = matrix(rowsOf(b, dim, 'frechetDistance (b)'), dim, b);
  const muA = columnMeans(ma);
  const muB = columnMeans(mb);
  const covA = covariance(ma, muA);
  const covB = covariance(mb, muB);
  let meanTerm = 0;
  for (let i = 0; i < dim; i++) meanTerm += (muA[i]! - muB[i]!) ** 2;
  const rootA = sqrtPsd(covA);
  const inner = multiply(multiply(rootA, covB), rootA);
  symmetrize(inner);
  const { values } = symmetricEigen(inner);
  let traceRoot = 0;
  for (const v of values) traceRoot += Math.sqrt(Math.max(0, v));
  let trace = 0;
  for (let i = 0; i < dim; i++) trace += covA.data[i * dim + i]! + covB.data[i * dim + i]!;
  return Math.max(0, meanTerm + trace - 2 * traceRoot);
}

function symmetrize(m: Matrix): void {
  const n = m.rows;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = 0.5 * (m.data[i * n + j]! + m.data[j * n + i]!);
      m.data[i * n + j] = v;
      m.data[j * n + i] = v;
    }
  }
}

function squaredDistance(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, dim: number): number {
  let s = 0;
  for (let k = 0; k < dim; k++) {
    const d = a[i * dim + k]! - b[j * dim + k]!;
    s += d * d;
  }
  return s;
}

/** Mean Euclidean distance over all pairs of rows (0 for fewer than two rows). */
export function meanPairwiseDistance(features: ArrayLike<number>, dim: number): number {
  const n = rowsOf(features, dim, 'meanPairwiseDistance');
  if (n < 2) return 0;
  let total = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) total += Math.sqrt(squaredDistance(features, i, features, j, dim));
  return total / ((n * (n - 1)) / 2);
}

export interface Neighbours {
  /** For each query, the indices of its k nearest references, nearest first. */
  indices: Int32Array[];
  /** Matching Euclidean distances. */
  distances: Float64Array[];
}

/** Exact k-nearest neighbours by Euclidean distance. */
export function nearestNeighbours(
  queries: ArrayLike<number>,
  references: ArrayLike<number>,
  dim: number,
  k = 1,
): Neighbours {
  const nq = rowsOf(queries, dim, 'nearestNeighbours (queries)');
  const nr = rowsOf(references, dim, 'nearestNeighbours (references)');
  if (k < 1 || k > nr) throw new Error(`nearestNeighbours: k = ${k} but there are ${nr} references`);
  const indices: Int32Array[] = [];
  const distances: Float64Array[] = [];
  for (let q = 0; q < nq; q++) {
    const bestIdx = new Int32Array(k).fill(-1);
    const bestDist = new Float64Array(k).fill(Number.POSITIVE_INFINITY);
    for (let r = 0; r < nr; r++) {
      const d = squaredDistance(queries, q, references, r, dim);
      if (d >= bestDist[k - 1]!) continue;
      let pos = k - 1;
      while (pos > 0 && bestDist[pos - 1]! > d) {
        bestDist[pos] = bestDist[pos - 1]!;
        bestIdx[pos] = bestIdx[pos - 1]!;
        pos--;
      }
      bestDist[pos] = d;
      bestIdx[pos] = r;
    }
    indices.push(bestIdx);
    distances.push(bestDist.map(Math.sqrt));
  }
  return { indices, distances };
}

export function median(values: ArrayLike<number>): number {
  const sorted = Array.from(values).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : 0.5 * (sorted[mid - 1]! + sorted[mid]!);
}
