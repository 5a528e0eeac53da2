/**
 * Small dense linear algebra in float64 for metrics over feature sets (a few hundred
 * dimensions): means, covariances, and a symmetric eigen-decomposition (cyclic Jacobi).
 */

/** A row-major matrix of `rows` x `cols` in float64. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function matrix(rows: number, cols: number, data?: ArrayLike<number>): Matrix {
  if (data !== undefined && data.length !== rows * cols) {
    throw new Error(`matrix: ${rows}x${cols} needs ${rows * cols} values, got ${data.length}`);
  }
  return { rows, cols, data: data ? Float64Array.from(data) : new Float64Array(rows * cols) };
}

export function columnMeans(m: Matrix): Float64Array {
  const mean = new Float64Array(m.cols);
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) mean[c]! += m.data[r * m.cols + c]!;
  }
  for (let c = 0; c < m.cols; c++) mean[c]! /= m.rows;
  return mean;
}

/** Sample covariance (divides by n - 1), cols x cols. */
export function covariance(m: Matrix, mean = columnMeans(m)): Matrix {
  const d = m.cols;
  const cov = matrix(d, d);
  const centred = new Float64Array(d);
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < d; c++) centred[c] = m.data[r * d + c]! - mean[c]!;
    for (let i = 0; i < d; i++) {
      const ci = centred[i]!;
      if (ci === 0) continue;
      const row = i * d;
      for (let j = i; j < d; j++) cov.data[row + j]! += ci * centred[j]!;
    }
  }
  const denom = Math.max(1, m.rows - 1);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const v = cov.data[i * d + j]! / denom;
      cov.data[i * d + j] = v;
      cov.data[j * d + i] = v;
    }
  }
  return cov;
}

export function multiply(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) throw new Error(`multiply: ${a.rows}x${a.cols} by ${b.rows}x${b.cols}`);
  const out = matrix(a.rows, b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let k = 0; k < a.cols; k++) {
      const aik = a.data[i * a.cols + k]!;
      if (aik === 0) continue;
      const brow = k * b.cols;
      const orow = i * b.cols;
      for (let j = 0; j < b.cols; j++) out.data[orow + j]! += aik * b.data[brow + j]!;
    }
  }
  return out;
}

/**
 * Eigenvalues and eigenvectors of a symmetric matrix by cyclic Jacobi rotations.
 * Returns values and the eigenvectors as the columns of `vectors`.
 */
export function symmetricEigen(a: Matrix, tolerance = 1e-12, maxSweeps = 60): { values: Float64Array; vectors: Matrix } {
  const n = a.rows;
  if (a.cols !== n) throw new Error(`symmetricEigen: matrix is ${a.rows}x${a.cols}, not square`);
  const m = Float64Array.from(a.data);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += m[i]! * m[i]!;
  scale = Math.sqrt(scale) || 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q]! ** 2;
    if (Math.sqrt(off) <= tolerance * scale) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const app = m[p * n + p]!;
        const aqq = m[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p]!;
          const mkq = m[k * n + q]!;
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k]!;
          const mqk = m[q * n + k]!;
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = m[i * n + i]!;
  return { values, vectors: { rows: n, cols: n, data: v } };
}

/** The principal square root of a symmetric positive semi-definite matrix. */
export function sqrtPsd(a: Matrix): Matrix {
  const { values, vectors } = symmetricEigen(a);
  const n = a.rows;
  const out = matrix(n, n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(0, values[k]!));
    if (s === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = vectors.data[i * n + k]! * s;
      for (let j = 0; j < n; j++) out.data[i * n + j]! += vik * vectors.data[j * n + k]!;
    }
  }
  return out;
}
