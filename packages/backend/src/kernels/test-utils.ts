import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { expect } from 'vitest';
import { initBackend } from '../init.js';

/** Shared helpers for the kernel tests: cpu is the reference for every wasm kernel. */

let ready: Promise<unknown> | undefined;

/** Loads wasm with the training kernels once per test file; leaves wasm selected. */
export async function setupBackends(): Promise<void> {
  ready ??= initBackend({ backend: 'wasm', verbose: false });
  await ready;
  await tf.setBackend('wasm');
}

/** A small seeded generator (mulberry32), so every case is reproducible. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform values in [-1, 1) for a shape. */
export function randomValues(shape: number[], rand: () => number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rand() * 2 - 1;
  return out;
}

/** Picks one element of a list. */
export function pick<T>(list: readonly T[], rand: () => number): T {
  return list[Math.floor(rand() * list.length)] as T;
}

/** max|a - b| / (max|b| + 1e-6): the error measure every comparison here uses. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (!(d <= diff)) diff = d; // NaN propagates as an infinite error
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return Number.isNaN(diff) ? Number.POSITIVE_INFINITY : diff / (scale + 1e-6);
}

export interface HostTensor {
  shape: number[];
  values: Float32Array | Int32Array | Uint8Array;
  dtype?: tf.DataType;
}

export interface KernelResult {
  shape: number[];
  dtype: tf.DataType;
  values: Float32Array | Int32Array | Uint8Array;
}

/** Runs one kernel through the engine on a backend and copies its (first) output to the host. */
export async function runKernelOn(
  backend: 'cpu' | 'wasm',
  kernelName: string,
  inputs: Record<string, HostTensor>,
  attrs: Record<string, unknown>,
): Promise<KernelResult> {
  await tf.setBackend(backend);
  const tensors: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) tensors[k] = tf.tensor(v.values, v.shape, v.dtype ?? 'float32');
  try {
    const out = tf.engine().runKernel(kernelName, tensors, attrs as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
    const outs = Array.isArray(out) ? out : [out];
    const first = outs[0] as tf.Tensor;
    const result = {
      shape: first.shape.slice(),
      dtype: first.dtype,
      values: first.dataSync() as KernelResult['values'],
    };
    for (const t of outs) t.dispose();
    return result;
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

/** Runs a kernel on cpu and wasm; returns both results and the relative error. */
export async function compareKernel(
  kernelName: string,
  inputs: Record<string, HostTensor>,
  attrs: Record<string, unknown>,
): Promise<{ cpu: KernelResult; wasm: KernelResult; error: number }> {
  const cpu = await runKernelOn('cpu', kernelName, inputs, attrs);
  const wasm = await runKernelOn('wasm', kernelName, inputs, attrs);
  expect(wasm.shape, `${kernelName} output shape`).toEqual(cpu.shape);
  return { cpu, wasm, error: relativeError(wasm.values, cpu.values) };
}

/** Live data ids held by the wasm backend (kernel intermediates show up here, not in tf.memory()). */
export function wasmDataIds(): number {
  return (tf.engine().findBackend('wasm') as BackendWasm).numDataIds();
}

/**
 * Runs `body` (which must dispose what it returns) several times on wasm and asserts that
 * neither engine tensors nor wasm buffers grow.
 */
export async function expectNoLeaks(body: () => void, runs = 3): Promise<void> {
  await tf.setBackend('wasm');
  body();
  const tensors = tf.memory().numTensors;
  const ids = wasmDataIds();
  for (let i = 0; i < runs; i++) body();
  expect(tf.memory().numTensors).toBe(tensors);
  expect(wasmDataIds()).toBe(ids);
}

export type Pad2D = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

/** One 2-D convolution configuration: input [N, H, W, Cin], filter [kh, kw, Cin, Cout]. */
export interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad2D;
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The output shape of a case (from tfjs' own shape rules, without running anything). */
export function convOutShape(c: ConvCase, depthwise = false): number[] {
  return tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, c.dilations ?? 1, c.pad, c.dimRoundingMode, depthwise)
    .outShape;
}

/**
 * Random conv configurations over batch sizes, channel counts, filter sizes (square and
 * not), strides (equal and not), 'same' / 'valid' / numeric / explicit paddings and,
 * when asked, dilations. Cases with an empty output are skipped.
 */
export function randomConvCases(n: number, seed: number, opts: { dilations?: boolean; depthwise?: boolean } = {}): ConvCase[] {
  const rand = seeded(seed);
  const cases: ConvCase[] = [];
  while (cases.length < n) {
    const kh = pick([1, 2, 3, 3, 4, 5], rand);
    const kw = pick([kh, kh, 1, 2, 3, 4], rand);
    const pad = pick<Pad2D>(
      ['same', 'valid', 'same', 'valid', 1, 2, [[0, 0], [1, 0], [2, 1], [0, 0]], [[0, 0], [0, 2], [1, 1], [0, 0]], [[0, 0], [6, 1], [0, 5], [0, 0]]],
      rand,
    );
    const c: ConvCase = {
      x: [pick([1, 2, 3, 5], rand), kh + pick([0, 1, 3, 6, 9], rand), kw + pick([0, 2, 4, 7, 10], rand), pick([1, 2, 3, 8], rand)],
      filter: [kh, kw, 0, opts.depthwise ? pick([1, 1, 2, 3], rand) : pick([1, 2, 4, 7], rand)],
      strides: pick<ConvCase['strides']>([1, 1, 2, 2, 3, [1, 2], [2, 1], [3, 2]], rand),
      pad,
    };
    c.filter[2] = c.x[3];
    // tfjs sizes numeric paddings from the filter height and stride height alone, undilated
    // (an upstream quirk that makes the stock wasm conv write past its output buffer), so
    // numeric paddings get square, undilated filters and equal strides.
    if (typeof pad === 'number') {
      c.filter[1] = kh;
      if (Array.isArray(c.strides)) c.strides = c.strides[0];
    }
    if (typeof pad === 'number' && rand() < 0.5) c.dimRoundingMode = pick(['floor', 'round', 'ceil'] as const, rand);
    if (opts.dilations && typeof pad !== 'number' && rand() < 0.4) {
      c.dilations = pick<[number, number] | number>([2, 3, [2, 1], [1, 3]], rand);
      // tfjs convs take strides or dilations above 1, not both.
      c.strides = 1;
    }
    if (convOutShape(c, opts.depthwise).some((d) => d <= 0)) continue;
    cases.push(c);
  }
  return cases;
}

/**
 * Runs a kernel function directly on the wasm backend with host inputs, returns its output
 * on the host and frees everything (for testing one method of a kernel).
 */
export async function runOnWasmBackend(
  fn: (inputs: Record<string, tf.TensorInfo>, backend: BackendWasm) => tf.TensorInfo,
  inputs: Record<string, HostTensor>,
): Promise<KernelResult> {
  await tf.setBackend('wasm');
  const tensors: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) tensors[k] = tf.tensor(v.values, v.shape, v.dtype ?? 'float32');
  const backend = tf.backend() as BackendWasm;
  try {
    const out = fn(tensors, backend);
    const values = backend.readSync(out.dataId) as KernelResult['values'];
    backend.disposeData(out.dataId);
    return { shape: out.shape.slice(), dtype: out.dtype, values };
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}
