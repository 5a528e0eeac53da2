import type * as TF from '@tensorflow/tfjs';

type Tf = typeof TF;
type Tensor = TF.Tensor;

/** One check: builds its outputs from fresh inputs on the current backend. */
interface Case {
  name: string;
  run(tf: Tf, input: (shape: number[], scale?: number) => Tensor): Tensor[];
}

/** Small shapes, but every op family training uses: dense, conv, transposed conv, their gradients. */
const CASES: Case[] = [
  { name: 'matMul', run: (tf, t) => [tf.matMul(t([5, 7]), t([7, 3])), tf.matMul(t([4, 6]), t([5, 6]), false, true)] },
  {
    name: 'conv2d',
    run: (tf, t) => [
      tf.conv2d(t([2, 9, 9, 3]) as TF.Tensor4D, t([3, 3, 3, 4]) as TF.Tensor4D, 2, 'same'),
      tf.conv2d(t([1, 7, 7, 2]) as TF.Tensor4D, t([3, 3, 2, 5]) as TF.Tensor4D, 1, 'valid'),
    ],
  },
  {
    name: 'conv2dTranspose',
    run: (tf, t) => [tf.conv2dTranspose(t([2, 5, 5, 4]) as TF.Tensor4D, t([3, 3, 2, 4]) as TF.Tensor4D, [2, 9, 9, 2], 2, 'same')],
  },
  {
    name: 'conv2d gradient',
    run: (tf, t) => {
      const x = t([2, 8, 8, 3]);
      const f = t([3, 3, 3, 4]);
      const loss = (a: Tensor, b: Tensor) =>
        tf.sum(tf.square(tf.conv2d(a as TF.Tensor4D, b as TF.Tensor4D, 2, 'same')));
      return tf.grads(loss)([x, f]);
    },
  },
  {
    name: 'relu/sigmoid/tanh',
    run: (tf, t) => {
      const x = t([3, 17], 3);
      return [tf.relu(x), tf.sigmoid(x), tf.tanh(x)];
    },
  },
  {
    name: 'sum',
    run: (tf, t) => {
      const x = t([4, 6, 5]);
      return [tf.sum(x), tf.sum(x, 1), tf.sum(x, [0, 2])];
    },
  },
  { name: 'softmax', run: (tf, t) => [tf.softmax(t([4, 10], 4)), tf.logSoftmax(t([3, 7], 4))] },
];

/** Deterministic values in [-scale, scale) (a small LCG, so both backends see identical inputs). */
function makeInputs(): (shape: number[], scale?: number) => Float32Array {
  let state = 12345;
  return (shape, scale = 1) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      out[i] = (state / 2 ** 32) * 2 * scale - scale;
    }
    return out;
  };
}

interface Output {
  shape: number[];
  values: Float32Array;
}

async function runAll(tf: Tf, backend: string): Promise<Map<string, Output[]>> {
  if (!(await tf.setBackend(backend))) throw new Error(`backend '${backend}' failed to initialise`);
  if (backend === 'cpu') {
    // The cpu backend prints an "install the node backend" banner on first use in Node; it is noise here.
    const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
    if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
  }
  const values = makeInputs();
  const results = new Map<string, Output[]>();
  for (const c of CASES) {
    const outs = tf.tidy(() => c.run(tf, (shape, scale) => tf.tensor(values(shape, scale), shape)));
    results.set(
      c.name,
      outs.map((o) => ({ shape: o.shape.slice(), values: Float32Array.from(o.dataSync() as Float32Array) })),
    );
    tf.dispose(outs);
  }
  return results;
}

/**
 * Runs a handful of ops (matMul, conv2d, conv2dTranspose, conv2d gradients, relu/sigmoid/tanh,
 * sum, softmax) on `backend` and on 'cpu' and compares them. Returns null when every output
 * matches within `tolerance` (max abs difference relative to the output's largest magnitude),
 * else a one-line description of the first mismatch. Leaves the active backend unspecified.
 */
export async function compareWithCpu(tf: Tf, backend = 'tensorflow', tolerance = 1e-4): Promise<string | null> {
  const got = await runAll(tf, backend);
  const want = await runAll(tf, 'cpu');
  for (const c of CASES) {
    const a = got.get(c.name)!;
    const b = want.get(c.name)!;
    for (let k = 0; k < b.length; k++) {
      const x = a[k];
      const y = b[k]!;
      if (!x || x.shape.join('x') !== y.shape.join('x')) {
        return `${c.name} output ${k}: shape ${x?.shape.join('x') ?? 'missing'} on ${backend}, ${y.shape.join('x')} on cpu`;
      }
      let maxRef = 0;
      let maxDiff = 0;
      for (let i = 0; i < y.values.length; i++) {
        const u = x.values[i]!;
        const v = y.values[i]!;
        if (!Number.isFinite(u)) return `${c.name} output ${k}: non-finite value ${u} on ${backend}`;
        maxRef = Math.max(maxRef, Math.abs(v));
        maxDiff = Math.max(maxDiff, Math.abs(u - v));
      }
      const rel = maxDiff / Math.max(maxRef, 1e-6);
      if (rel > tolerance) {
        return `${c.name} output ${k}: ${backend} differs from cpu by ${rel.toExponential(2)} (relative, limit ${tolerance})`;
      }
    }
  }
  return null;
}
