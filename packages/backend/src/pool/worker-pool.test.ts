/**
 * Pool tests. Workers run dist/pool-worker.js; `ensurePoolWorkerBuilt` rebuilds that file when it
 * is older than its sources (or run `pnpm --filter @ppgn/backend build` first).
 */
import { createHook } from 'node:async_hooks';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePoolWorkerBuilt, fixture } from './test-support.js';
import { createWorkerPool, type WorkerPool, WorkerTaskError } from './worker-pool.js';

const tasks = fixture('tasks.mjs');

// live worker-thread handles in this process, as async_hooks sees them
const liveWorkers = new Set<number>();
createHook({
  init(id, type) {
    if (type === 'WORKER') liveWorkers.add(id);
  },
  destroy(id) {
    liveWorkers.delete(id);
  },
}).enable();

beforeAll(async () => {
  ensurePoolWorkerBuilt();
  await tf.setBackend('cpu');
});

describe('pool.map', () => {
  let pool: WorkerPool;
  beforeAll(async () => {
    pool = await createWorkerPool({ size: 2, backend: 'wasm' });
  });
  afterAll(() => pool.close());

  it('starts each worker on the chosen backend', () => {
    expect(pool.size).toBe(2);
    expect(pool.backends).toEqual(['wasm', 'wasm']);
  });

  it('returns results in input order, using every worker', async () => {
    // early inputs are slow, so they finish after later ones
    const inputs = Array.from({ length: 8 }, (_, i) => ({ value: i, delayMs: (8 - i) * 5 }));
    const out = await pool.map<typeof inputs[number], { value: number; workerIndex: number; backend: string }>(
      tasks,
      'echo',
      inputs,
    );
    expect(out.map((o) => o.value)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(out.map((o) => o.workerIndex))).toEqual(new Set([0, 1]));
    expect(out.every((o) => o.backend === 'wasm')).toBe(true);
  });

  it('runs tfjs in the worker and returns typed arrays', async () => {
    const starts = [new Float32Array([0, 2]), new Float32Array([4, 8]), new Float32Array([-2, 1])];
    const out = await pool.map<{ start: Float32Array; steps: number }, Float32Array>(
      tasks,
      'chain',
      starts.map((start) => ({ start, steps: 3 })),
    );
    const expected = starts.map((s) => Array.from(s, (v) => ((v * 0.5 + 1) * 0.5 + 1) * 0.5 + 1));
    out.forEach((o, i) => {
      expect(o).toBeInstanceOf(Float32Array);
      expect(Array.from(o)).toEqual(expected[i]);
    });
    expect(Array.from(starts[0]!)).toEqual([0, 2]); // inputs are copied unless transfer is asked for
  });

  it('transfers inputs when asked', async () => {
    const start = new Float32Array([1, 1]);
    const [out] = await pool.map<{ start: Float32Array; steps: number }, Float32Array>(
      tasks,
      'chain',
      [{ start, steps: 1 }],
      { transfer: true },
    );
    expect(Array.from(out!)).toEqual([1.5, 1.5]);
    expect(start.byteLength).toBe(0); // detached
  });

  it('rejects with the message and stack of an error thrown in a task', async () => {
    const inputs = [0, 1, 2, 3, 4].map((value) => ({ value, fail: value === 3 }));
    const err = await pool.map(tasks, 'fail', inputs).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerTaskError);
    const e = err as WorkerTaskError;
    expect(e.message).toBe('task failed on purpose: 3');
    expect(e.name).toBe('TypeError');
    expect(e.workerStack).toContain('fixtures/tasks.mjs');
    expect(e.stack).toContain('fixtures/tasks.mjs');
    // and the pool still works afterwards
    expect(await pool.map(tasks, 'fail', [{ value: 7, fail: false }])).toEqual([7]);
  });

  it('rejects on a missing export or module', async () => {
    await expect(pool.map(tasks, 'nope', [1])).rejects.toThrow(/no exported function 'nope'/);
    await expect(pool.map(fixture('missing.mjs'), 'echo', [1])).rejects.toThrow(/missing\.mjs/);
  });

  it('rejects inputs that cannot cross threads', async () => {
    await expect(pool.map(tasks, 'echo', [{ value: () => 1 }])).rejects.toThrow(/cannot send to pool worker/);
    const t = tf.zeros([2]);
    await expect(pool.map(tasks, 'echo', [t])).rejects.toThrow(/plain data/);
    t.dispose();
    expect(await pool.map(tasks, 'fail', [{ value: 5 }])).toEqual([5]);
  });

  it('replaces a worker that died, rejecting its task', async () => {
    await expect(pool.map(tasks, 'crash', [{ code: 3 }])).rejects.toThrow(/exited with code 3/);
    const out = await pool.map<{ value: number }, { value: number }>(tasks, 'echo', [{ value: 1 }, { value: 2 }]);
    expect(out.map((o) => o.value)).toEqual([1, 2]);
    expect(pool.backends).toEqual(['wasm', 'wasm']);
  });
});

describe('pool lifecycle', () => {
  it('close() ends every worker thread and later calls reject', async () => {
    const before = new Set(liveWorkers);
    const pool = await createWorkerPool({ size: 2, backend: 'cpu' });
    const created = [...liveWorkers].filter((id) => !before.has(id));
    expect(created).toHaveLength(2);
    expect(await pool.map(tasks, 'fail', [{ value: 1 }])).toEqual([1]);
    await pool.close();
    // async_hooks reports a handle's destruction a few ticks after it closed
    for (let i = 0; i < 50 && created.some((id) => liveWorkers.has(id)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(created.filter((id) => liveWorkers.has(id))).toEqual([]);
    await expect(pool.map(tasks, 'fail', [{ value: 1 }])).rejects.toThrow(/closed/);
    await pool.close(); // twice is fine
  });

  it('close() rejects queued work instead of leaving it pending', async () => {
    const pool = await createWorkerPool({ size: 1, backend: 'cpu' });
    const pending = pool.map(tasks, 'echo', [{ value: 1, delayMs: 200 }, { value: 2 }]).catch((e: unknown) => e);
    await pool.close();
    expect(String(await pending)).toMatch(/closed|exited/);
  });

  it('uses the main thread backend by default', async () => {
    const pool = await createWorkerPool({ size: 1 });
    try {
      expect(pool.backends).toEqual([tf.getBackend()]);
    } finally {
      await pool.close();
    }
  });
});
