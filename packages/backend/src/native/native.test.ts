import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { compareWithCpu } from './check.js';
import { loadNativeTensorFlow } from './load.js';
import { appTfjs, nativeRoot, pickBuild } from './paths.js';

function nativeAvailable(): string | undefined {
  if (process.env.PPGN_NATIVE === '0') return 'PPGN_NATIVE=0';
  const req = createRequire(import.meta.url);
  for (const name of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      req.resolve(name);
      return undefined;
    } catch {
      // not installed
    }
  }
  const picked = pickBuild(appTfjs().version, nativeRoot());
  return 'reason' in picked ? `no native binding (build one with \`ppgn native\`): ${picked.reason}` : undefined;
}
const skip = nativeAvailable();
const title = (t: string) => (skip ? `${t} (skipped: ${skip})` : t);

/** Deterministic inputs in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** Gradients of a small conv net's loss with respect to all its weights, on the current backend. */
function convNetGrads(): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(values(4 * 16 * 16 * 3, 1), [4, 16, 16, 3]);
    const labels = tf.oneHot(tf.tensor1d([1, 3, 5, 7], 'int32'), 10);
    const w = [
      tf.tensor4d(values(3 * 3 * 3 * 8, 2), [3, 3, 3, 8]).mul(0.3),
      tf.tensor1d(values(8, 3)).mul(0.1),
      tf.tensor4d(values(3 * 3 * 8 * 16, 4), [3, 3, 8, 16]).mul(0.2),
      tf.tensor1d(values(16, 5)).mul(0.1),
      tf.tensor2d(values(4 * 4 * 16 * 10, 6), [4 * 4 * 16, 10]).mul(0.1),
      tf.tensor1d(values(10, 7)).mul(0.1),
    ];
    const loss = (...p: tf.Tensor[]) => {
      const [k1, b1, k2, b2, wd, bd] = p as [tf.Tensor4D, tf.Tensor1D, tf.Tensor4D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D];
      let h = tf.relu(tf.add(tf.conv2d(x, k1, 2, 'same'), b1));
      h = tf.relu(tf.add(tf.conv2d(h as tf.Tensor4D, k2, 2, 'same'), b2));
      const logits = tf.add(tf.matMul(tf.reshape(h, [4, -1]), wd), bd);
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    };
    return tf.grads(loss)(w).map((g) => g.dataSync() as Float32Array);
  });
}

describe('native TensorFlow binding', () => {
  it.skipIf(skip)(title('loads into this tfjs and passes the numeric check against cpu'), async () => {
    const r = await loadNativeTensorFlow();
    expect(r).toMatchObject({ ok: true });
    expect(tf.findBackendFactory('tensorflow')).toBeTruthy();
    // One tfjs instance: the backend is visible through the app's CommonJS copy too.
    const cjs = createRequire(import.meta.url)('@tensorflow/tfjs') as typeof tf;
    expect(cjs.engine()).toBe(tf.engine());
    expect(cjs.findBackendFactory('tensorflow')).toBe(tf.findBackendFactory('tensorflow'));
    expect(await compareWithCpu(tf, 'tensorflow')).toBeNull();
  });

  it.skipIf(skip)(title("a small conv net's gradients on 'tensorflow' equal cpu's"), async () => {
    expect((await loadNativeTensorFlow()).ok).toBe(true);
    await tf.setBackend('tensorflow');
    const native = convNetGrads();
    await tf.setBackend('cpu');
    const cpu = convNetGrads();
    expect(native.length).toBe(6);
    for (let k = 0; k < cpu.length; k++) {
      const a = native[k]!;
      const b = cpu[k]!;
      expect(a.length).toBe(b.length);
      let maxRef = 0;
      let maxDiff = 0;
      for (let i = 0; i < b.length; i++) {
        maxRef = Math.max(maxRef, Math.abs(b[i]!));
        maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
      }
      expect(maxRef).toBeGreaterThan(0);
      expect(maxDiff / maxRef).toBeLessThan(1e-4);
    }
  });
});

describe('native kernels', () => {
  const special = [Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, -0, 0, 1e-30, -1e-30, 2, -3];

  /** step(x, alpha) of special values and random numbers, on the current backend. */
  function steps(dtype: 'float32' | 'int32'): number[][] {
    return tf.tidy(() => {
      if (dtype === 'int32') return [0.5, -1.5, 2].map((alpha) => Array.from(tf.step(tf.tensor1d([-2, 0, 3], 'int32'), alpha).dataSync()));
      const x = tf.concat([tf.tensor1d(special), tf.tensor1d(values(4096, 9))]);
      return [0, 0.3, -1].map((alpha) => Array.from(tf.step(x, alpha).dataSync()));
    });
  }

  it.skipIf(skip)(title('Step equals cpu on NaN, infinities, signed zeros and random values, and frees its intermediates'), async () => {
    expect((await loadNativeTensorFlow()).ok).toBe(true);
    expect(tf.getKernel('Step', 'tensorflow')).toBeTruthy();
    await tf.setBackend('tensorflow');
    const before = tf.memory().numTensors;
    const native = [...steps('float32'), ...steps('int32')];
    // the relu gradient, which runs Step
    const reluGrad = tf.tidy(() => Array.from(tf.grad((x: tf.Tensor) => tf.sum(tf.relu(x)))(tf.tensor1d(special)).dataSync()));
    expect(tf.memory().numTensors).toBe(before);
    await tf.setBackend('cpu');
    const cpu = [...steps('float32'), ...steps('int32')];
    const cpuReluGrad = tf.tidy(() => Array.from(tf.grad((x: tf.Tensor) => tf.sum(tf.relu(x)))(tf.tensor1d(special)).dataSync()));
    expect(native).toEqual(cpu);
    expect(reluGrad).toEqual(cpuReluGrad);
    expect(cpu[0]!.slice(0, special.length)).toEqual([Number.NaN, 0, 1, 0, 0, 1, 0, 1, 0]);
  });
});

describe('native activation gradients', () => {
  const special = [Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, -0, 0, 1e-30, -1e-30, 2, -3, 40, -40];
  const xs = () => tf.concat([tf.tensor1d(special), tf.tensor1d(values(3000, 21)).mul(4)]);
  const weights = (n: number) => tf.tensor1d(values(n, 22));
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  /** name, op, and the second derivative in float64 (undefined: tfjs's cpu gradient has none) */
  const activations: [string, (x: tf.Tensor) => tf.Tensor, ((v: number) => number) | undefined][] = [
    ['relu', (x) => tf.relu(x), () => 0],
    ['leakyRelu 0.2', (x) => tf.leakyRelu(x, 0.2), () => 0],
    ['sigmoid', (x) => tf.sigmoid(x), (v) => sigmoid(v) * (1 - sigmoid(v)) * (1 - 2 * sigmoid(v))],
    ['tanh', (x) => tf.tanh(x), (v) => (1 - Math.tanh(v) ** 2) * -2 * Math.tanh(v)],
  ];

  /** d/dx sum(w * f(x)) at awkward and random x, on the current backend. */
  function firstDerivative(f: (x: tf.Tensor) => tf.Tensor): Float32Array {
    return tf.tidy(() => {
      const x = xs();
      const w = weights(x.size);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(w, f(t))))(x).dataSync() as Float32Array;
    });
  }

  /** d/dx sum(d/dx sum(w * f(x))) at the random x, on the current backend. */
  function secondDerivative(f: (x: tf.Tensor) => tf.Tensor): { x: Float32Array; w: Float32Array; d2: Float32Array } {
    return tf.tidy(() => {
      const x = tf.tensor1d(values(3000, 21)).mul(4);
      const w = weights(x.size);
      const first = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(w, f(t))));
      const d2 = tf.grad((t: tf.Tensor) => tf.sum(first(t)))(x);
      return { x: x.dataSync() as Float32Array, w: w.dataSync() as Float32Array, d2: d2.dataSync() as Float32Array };
    });
  }

  it.skipIf(skip)(title('relu, leakyRelu, sigmoid and tanh gradients equal cpu (NaN included) and have true second derivatives'), async () => {
    expect((await loadNativeTensorFlow()).ok).toBe(true);
    expect(tf.getKernel('PpgnReluGrad', 'tensorflow')).toBeTruthy();
    for (const [name, f, second] of activations) {
      await tf.setBackend('tensorflow');
      const before = tf.memory().numTensors;
      const native = firstDerivative(f);
      const d2 = secondDerivative(f);
      expect(tf.memory().numTensors, name).toBe(before);
      await tf.setBackend('cpu');
      const cpu = firstDerivative(f);
      if (name === 'relu' || name.startsWith('leakyRelu')) {
        // piecewise-linear masks: exact, NaN where tfjs gives NaN
        expect(Array.from(native), name).toEqual(Array.from(cpu));
      } else {
        // the same products in another order
        native.forEach((v, i) => {
          const ref = cpu[i]!;
          if (Number.isNaN(ref)) expect(v, `${name} at ${i}`).toBeNaN();
          else expect(Math.abs(v - ref), `${name} at ${i}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(ref)));
        });
      }
      d2.d2.forEach((v, i) => {
        const want = d2.w[i]! * second!(d2.x[i]!);
        expect(Math.abs(v - want), `${name}'' at x = ${d2.x[i]}`).toBeLessThan(1e-5);
      });
    }
    expect(Number.isNaN(firstDerivative(activations[0]![1])[0]!)).toBe(true);
  });
});
