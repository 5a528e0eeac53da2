import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './init.js';
import { compareKernel, seeded, randomValues, relativeError } from './kernels/test-utils.js';
import { defaultWasmThreads, wasmThreadCount } from './wasm-threads.js';

const run = promisify(execFile);
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

describe('wasm on several XNNPACK threads', () => {
  beforeAll(async () => {
    expect(await initBackend({ backend: 'wasm', verbose: false, wasmThreads: 2 })).toBe('wasm');
  });

  it('runs the threaded build with the threads asked for', () => {
    expect(wasmThreadCount()).toBe(2);
  });

  it('gives cpu results for threaded XNNPACK ops and the training kernels built on them', async () => {
    const rand = seeded(7);
    const x = { shape: [4, 16, 16, 24], values: randomValues([4, 16, 16, 24], rand) };
    const filter = { shape: [3, 3, 24, 32], values: randomValues([3, 3, 24, 32], rand) };
    const dy = { shape: [4, 8, 8, 32], values: randomValues([4, 8, 8, 32], rand) };
    const conv = { strides: [2, 2], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1] };
    const cases = [
      await compareKernel('Conv2D', { x, filter }, conv),
      await compareKernel('Conv2DBackpropInput', { dy, filter }, { ...conv, inputShape: x.shape }),
      await compareKernel('Conv2DBackpropFilter', { x, dy }, { ...conv, filterShape: filter.shape }),
      await compareKernel(
        'BatchMatMul',
        { a: { shape: [64, 96], values: randomValues([64, 96], rand) }, b: { shape: [64, 40], values: randomValues([64, 40], rand) } },
        { transposeA: true, transposeB: false },
      ),
    ];
    for (const c of cases) expect(c.error).toBeLessThan(1e-4);
  });

  it('trains a small conv net with the same gradients as cpu', async () => {
    const grads: Record<string, Float32Array[]> = {};
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const start = tf.memory().numTensors;
      const model = tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [12, 12, 3], filters: 8, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
          tf.layers.leakyReLU({ alpha: 0.2 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
        ],
      });
      const xs = tf.randomNormal([6, 12, 12, 3], 0, 1, 'float32', 3);
      const { value, grads: g } = tf.variableGrads(() => tf.mean(tf.square(model.apply(xs) as tf.Tensor)) as tf.Scalar);
      grads[backend] = Object.values(g).map((t) => t.dataSync() as Float32Array);
      tf.dispose([xs, value, ...Object.values(g)]);
      model.dispose();
      expect(tf.memory().numTensors).toBe(start);
    }
    for (const [i, g] of grads.wasm!.entries()) expect(relativeError(g, grads.cpu![i]!)).toBeLessThan(1e-4);
  });

  it('defaults to the cores other work leaves idle, at least one', () => {
    const cores = os.availableParallelism();
    const idle = Math.round(cores - (os.loadavg()[0] ?? 0));
    expect(defaultWasmThreads()).toBe(Math.min(cores, Math.max(1, idle)));
    expect(defaultWasmThreads()).toBeGreaterThanOrEqual(1);
  });

  it('rejects thread counts that are not positive integers, naming the source', async () => {
    await expect(initBackend({ backend: 'wasm', wasmThreads: 0 })).rejects.toThrow("initBackend: wasm threads must be a positive integer, got '0'");
    const before = process.env.PPGN_WASM_THREADS;
    process.env.PPGN_WASM_THREADS = 'many';
    try {
      await expect(initBackend({ backend: 'wasm' })).rejects.toThrow("PPGN_WASM_THREADS: wasm threads must be a positive integer, got 'many'");
    } finally {
      if (before === undefined) delete process.env.PPGN_WASM_THREADS;
      else process.env.PPGN_WASM_THREADS = before;
    }
  });

  it.skipIf(!existsSync(dist))('lets a Node script that used it exit on its own', async () => {
    const script = [
      `import * as tf from '@tensorflow/tfjs';`,
      `import { initBackend, wasmThreadCount } from ${JSON.stringify(dist)};`,
      `await initBackend({ backend: 'wasm', verbose: false, wasmThreads: 2 });`,
      `tf.matMul(tf.ones([256, 256]), tf.ones([256, 256])).dataSync();`,
      `console.log('threads', wasmThreadCount());`,
    ].join('\n');
    // No process.exit: a pool thread left referenced would keep the process alive until the timeout.
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000, cwd: fileURLToPath(new URL('..', import.meta.url)) });
    expect(stdout.trim()).toBe('threads 2');
  });
});
