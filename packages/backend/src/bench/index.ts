/**
 * `pnpm bench`: times a classifier training step and the sampler-shaped step (h -> G -> C, the
 * gradient of a class logit w.r.t. h) on each engine, side by side, and checks the speed targets.
 * The sampler step runs on two model pairs: the small reference pair and copies of the zoo's
 * shapes generator and classifier (src/bench/models.ts).
 * A benchmark, not a test: it prints a table and writes out/bench.json.
 *
 * Each single-process engine (cpu, stock wasm, patched wasm on one thread and on several XNNPACK
 * threads) runs in its own worker thread with a fresh tfjs, so stock wasm (no training kernels
 * registered) and patched wasm never share a kernel registry. The pool runs from the main
 * thread; native TensorFlow runs last, on the main thread, when it loads.
 *
 * Flags: --runs N (timed runs for wasm/pool/native, default 10), --cpu-runs N (training, default 1),
 * --pool-size N (default 2; also the threads of wasm-threads), --only ENGINE,... (of cpu,
 * wasm-stock, wasm, wasm-threads, pool, tensorflow; the rest print "skipped"), --out FILE
 * (default out/bench.json).
 */
import { mkdirSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, Worker, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../init.js';
import { wasmThreadCount } from '../wasm-threads.js';
import { wasmTrainingKernels } from '../kernels/register.js';
import { loadNativeTensorFlow } from '../native/load.js';
import type { TaskContext } from '../pool/protocol.js';
import { createWorkerPool } from '../pool/worker-pool.js';
import { benchClassifier } from './models.js';
import {
  median,
  SAMPLER_BATCH,
  type SamplerModels,
  samplerStepper,
  TRAIN_BATCH,
  type Timing,
  time,
  trainingBatch,
  trainingStepper,
} from './steps.js';

type Engine = 'cpu' | 'wasm-stock' | 'wasm' | 'wasm-threads' | 'pool' | 'tensorflow';
type Step = 'train' | 'sampler' | 'samplerZoo';
/** `filled`: kernels stock wasm lacks that this cell ran with this package's version. */
type Cell = { ok: true; timing: Timing; filled?: string[] } | { ok: false; reason: string };
interface Plan {
  warmup: number;
  runs: number;
  /** Warm up with one step at this batch size instead of full-size warm-up steps (for cpu). */
  primeBatch?: number;
}
interface SingleJob {
  engine: Exclude<Engine, 'pool' | 'tensorflow'>;
  plans: Record<Step, Plan>;
  /** XNNPACK threads of the 'wasm-threads' engine. */
  threads?: number;
  /** Also time the steps at these (pool shard) batch sizes. */
  shard?: Record<Step, number>;
}
type SingleResult = Record<Step, Cell> & { shard?: Record<Step, Cell> };

const ENGINE_LABEL: Record<Engine, string> = {
  cpu: 'cpu',
  'wasm-stock': 'wasm (stock)',
  wasm: 'wasm (patched)',
  'wasm-threads': 'wasm (patched) threads',
  pool: 'wasm pool',
  tensorflow: 'native tensorflow',
};
const STEP_LABEL: Record<Step, string> = {
  train: `classifier train step (batch ${TRAIN_BATCH}, Adam)`,
  sampler: `sampler step h->G->C grad (batch ${SAMPLER_BATCH})`,
  samplerZoo: `  same, zoo shapes G and C (batch ${SAMPLER_BATCH})`,
};
const STEPS: Step[] = ['train', 'sampler', 'samplerZoo'];

function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const kernel = /Kernel '([^']+)' not registered/.exec(message);
  if (kernel) return `missing ${kernel[1]}`;
  return (message.split('\n')[0] ?? message).slice(0, 160);
}

async function measure(
  make: () => Promise<{ step: () => unknown; dispose: () => unknown }> | { step: () => unknown; dispose: () => unknown },
  plan: Plan,
): Promise<Cell> {
  let stepper: { step: () => unknown; dispose: () => unknown } | undefined;
  try {
    stepper = await make();
    return { ok: true, timing: await time(stepper.step, plan.warmup, plan.runs) };
  } catch (err) {
    return { ok: false, reason: reasonOf(err) };
  } finally {
    try {
      await stepper?.dispose();
    } catch {
      // a failed step can leave the model half-disposed; nothing to report
    }
  }
}

/** Sampler steps each pool chain runs per message. */
const CHAIN_STEPS = 5;

/** A timing of `steps` steps per call, as a time per step. */
function perStep(cell: Cell, steps: number): Cell {
  if (!cell.ok) return cell;
  const { timing } = cell;
  return { ok: true, timing: { ...timing, ms: timing.ms / steps, samples: timing.samples.map((v) => v / steps) } };
}

// ---- in a worker thread: one single-thread engine ----

async function primed<T extends { step: () => unknown; dispose: () => unknown }>(
  make: (batch: number) => T | Promise<T>,
  batch: number,
  plan: Plan,
): Promise<T> {
  if (plan.primeBatch) {
    const small = await make(plan.primeBatch);
    try {
      small.step();
    } finally {
      small.dispose();
    }
  }
  return make(batch);
}

/**
 * Measures on stock wasm; a step that stops on a kernel stock wasm does not have at all is
 * measured again with this package's version of just that kernel, and the cell says so.
 */
const filledIn: string[] = [];

async function measureStock(make: Parameters<typeof measure>[0], plan: Plan): Promise<Cell> {
  for (;;) {
    const cell = await measure(make, plan);
    const missing = cell.ok ? undefined : /^missing (\S+)$/.exec(cell.reason)?.[1];
    const ours = missing && !tf.getKernel(missing, 'wasm') ? wasmTrainingKernels.find((k) => k.kernelName === missing) : undefined;
    if (!ours) return cell.ok && filledIn.length ? { ...cell, filled: [...filledIn] } : cell;
    tf.registerKernel(ours);
    filledIn.push(ours.kernelName);
  }
}

async function runSingle(job: SingleJob): Promise<SingleResult> {
  if (job.engine === 'cpu') {
    tf.enableProdMode(); // no "install the node backend" banner in the table
    await tf.setBackend('cpu');
  } else if (job.engine === 'wasm-stock') {
    await import('@tensorflow/tfjs-backend-wasm'); // training kernels deliberately not registered
    if (!(await tf.setBackend('wasm'))) throw new Error('wasm failed to initialise');
  } else {
    const threads = job.engine === 'wasm-threads' ? (job.threads ?? 2) : 1;
    await initBackend({ backend: 'wasm', verbose: false, wasmThreads: threads });
    const actual = wasmThreadCount();
    if (actual !== threads) throw new Error(`asked for wasm on ${threads} threads, got ${actual}`);
  }
  const { train, sampler, samplerZoo } = job.plans;
  // The sampler steps first: on stock wasm, filling in a missing kernel for one step must not
  // change the steps measured before it.
  const run = job.engine === 'wasm-stock' ? measureStock : measure;
  const result: SingleResult = {
    sampler: await run(() => primed((b) => samplerStepper(b), SAMPLER_BATCH, sampler), sampler),
    samplerZoo: await run(() => primed((b) => samplerStepper(b, 5, 'zoo'), SAMPLER_BATCH, samplerZoo), samplerZoo),
    train: await run(() => primed(trainingStepper, TRAIN_BATCH, train), train),
  };
  if (job.shard) {
    const shard = job.shard;
    result.shard = {
      train: await measure(() => trainingStepper(shard.train), train),
      sampler: await measure(() => samplerStepper(shard.sampler), sampler),
      samplerZoo: await measure(() => samplerStepper(shard.samplerZoo, 5, 'zoo'), samplerZoo),
    };
  }
  return result;
}

function inWorker(job: SingleJob): Promise<SingleResult> {
  return new Promise((resolvePromise, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { ppgnBench: job } });
    worker.once('message', (result: SingleResult | { error: string }) => {
      void worker.terminate();
      if ('error' in result) reject(new Error(result.error as string));
      else resolvePromise(result);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`bench worker exited with code ${code}`)));
  });
}

// ---- in a pool worker: one sampler chain, as a pool.map task ----

const chains = new Map<string, ReturnType<typeof samplerStepper>>();

/** Pool task: `steps` sampler steps of the chain `seed` (batch `batch`, pair `models`), kept in this worker. */
export function samplerChainTask(
  input: { seed: number; batch: number; steps: number; models: SamplerModels },
  context: TaskContext,
): number {
  if (context.tf !== tf) throw new Error('the bench task and the pool worker loaded different tfjs copies');
  const key = `${input.models}:${input.seed}`;
  let chain = chains.get(key);
  if (!chain) {
    chain = samplerStepper(input.batch, input.seed, input.models);
    chains.set(key, chain);
  }
  let norm = 0;
  for (let i = 0; i < input.steps; i++) norm = chain.step();
  return norm;
}

// ---- main thread ----

const ENGINES: Engine[] = ['cpu', 'wasm-stock', 'wasm', 'wasm-threads', 'pool', 'tensorflow'];

function parseFlags(argv: string[]): { runs: number; cpuRuns: number; poolSize: number; out: string; only: Engine[] } {
  const flags = { runs: 10, cpuRuns: 1, poolSize: 2, out: 'out/bench.json', only: ENGINES };
  for (let i = 0; i < argv.length; i++) {
    const [name, value] = [argv[i], argv[i + 1]];
    const num = () => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${name} needs a positive integer, got ${value}`);
      i++;
      return n;
    };
    if (name === '--runs') flags.runs = num();
    else if (name === '--cpu-runs') flags.cpuRuns = num();
    else if (name === '--pool-size') flags.poolSize = num();
    else if (name === '--out' && value) {
      flags.out = value;
      i++;
    } else if (name === '--only' && value) {
      const only = value.split(',') as Engine[];
      const bad = only.filter((e) => !ENGINES.includes(e));
      if (bad.length) throw new Error(`--only: unknown engine ${bad.join(', ')}; engines: ${ENGINES.join(', ')}`);
      flags.only = only;
      i++;
    } else {
      throw new Error(`unknown flag ${name}; flags: --runs N, --cpu-runs N, --pool-size N, --only ENGINE,..., --out FILE`);
    }
  }
  return flags;
}

function progress(text: string): void {
  process.stderr.write(`  ${text}\n`);
}

interface PoolRun {
  cells: Record<Step, Cell>;
  backends: string[];
  /** Median main-thread and slowest-worker time of a training step, ms. */
  trainSplit?: { mainMs: number; workerMs: number };
}

async function runPool(size: number, plan: Plan): Promise<PoolRun> {
  // the main thread's own tensor work (shards, weight reads) on one wasm thread, leaving the cores to the workers
  await initBackend({ backend: 'wasm', verbose: false, wasmThreads: 1 });
  let pool: Awaited<ReturnType<typeof createWorkerPool>> | undefined;
  try {
    pool = await createWorkerPool({ size, backend: 'wasm' });
  } catch (err) {
    const cell: Cell = { ok: false, reason: reasonOf(err) };
    return { cells: { train: cell, sampler: cell, samplerZoo: cell }, backends: [] };
  }
  const p = pool;
  const mains: number[] = [];
  const workers: number[] = [];
  try {
    const train = await measure(() => {
      const { probabilities } = benchClassifier();
      const trainer = p.trainer({ model: probabilities, loss: 'categoricalCrossentropy', optimizer: 'adam' });
      const { xs, ys } = trainingBatch(TRAIN_BATCH);
      return {
        step: async () => {
          await trainer.step(xs, ys);
          const t = trainer.lastTiming;
          if (t) {
            mains.push(t.mainMs);
            workers.push(Math.max(...t.workerMs));
          }
        },
        dispose: async () => {
          await trainer.dispose();
          tf.dispose([xs, ys]);
          probabilities.dispose();
        },
      };
    }, plan);
    const chainBatch = Math.ceil(SAMPLER_BATCH / size);
    // Parallel chains run on their own between messages, as a real chain's 200 steps would:
    // each map call advances every chain CHAIN_STEPS steps; the time reported is per step.
    const chainsOf = async (models: SamplerModels) =>
      perStep(
        await measure(() => {
          const inputs = Array.from({ length: size }, (_, i) => ({ seed: 100 + i, batch: chainBatch, steps: CHAIN_STEPS, models }));
          return { step: () => p.map(new URL(import.meta.url), 'samplerChainTask', inputs), dispose: () => {} };
        }, plan),
        CHAIN_STEPS,
      );
    const sampler = await chainsOf('reference');
    const samplerZoo = await chainsOf('zoo');
    const trainSplit = mains.length ? { mainMs: median(mains), workerMs: median(workers) } : undefined;
    return { cells: { train, sampler, samplerZoo }, backends: p.backends, trainSplit };
  } finally {
    await p.close();
  }
}

async function runNative(plan: Plan): Promise<Record<Step, Cell>> {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2'; // TensorFlow's start-up info lines
  const native = await loadNativeTensorFlow();
  if (!native.ok) {
    const cell: Cell = { ok: false, reason: native.reason };
    return { train: cell, sampler: cell, samplerZoo: cell };
  }
  if (!(await tf.setBackend('tensorflow'))) {
    const cell: Cell = { ok: false, reason: 'the tensorflow backend failed to initialise' };
    return { train: cell, sampler: cell, samplerZoo: cell };
  }
  return {
    train: await measure(() => trainingStepper(TRAIN_BATCH), plan),
    sampler: await measure(() => samplerStepper(SAMPLER_BATCH), plan),
    samplerZoo: await measure(() => samplerStepper(SAMPLER_BATCH, 5, 'zoo'), plan),
  };
}

const SPIN = `const { parentPort } = require('node:worker_threads');
parentPort.on('message', (n) => {
  let x = 0;
  for (let i = 0; i < n; i++) x = (x * 1.0000001 + i) % 1e9;
  parentPort.postMessage(x);
});`;

/**
 * How much faster `threads` threads of plain JS finish `threads` equal jobs than one thread does
 * them in turn, now: `threads` on idle cores, less when other processes hold the cores. Bounds what
 * any pool can show on this machine at this moment.
 */
async function parallelHeadroom(threads: number, rounds = 3): Promise<number> {
  const workers = Array.from({ length: threads }, () => new Worker(SPIN, { eval: true }));
  const run = (w: Worker, n: number) =>
    new Promise<void>((done) => {
      w.once('message', () => done());
      w.postMessage(n);
    });
  try {
    const n = 2e7;
    await Promise.all(workers.map((w) => run(w, n / 10)));
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      let t0 = performance.now();
      for (let i = 0; i < threads; i++) await run(workers[0]!, n);
      const serial = performance.now() - t0;
      t0 = performance.now();
      await Promise.all(workers.map((w) => run(w, n)));
      ratios.push(serial / (performance.now() - t0));
    }
    return median(ratios);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

interface Target {
  name: string;
  step: Step;
  fast: Engine;
  slow: Engine;
  goal: number;
}

function ratio(results: Record<Engine, Record<Step, Cell>>, t: Target): { value?: number; reason?: string } {
  const fast = results[t.fast][t.step];
  const slow = results[t.slow][t.step];
  if (!fast.ok) return { reason: `${ENGINE_LABEL[t.fast]}: ${fast.reason}` };
  if (!slow.ok) return { reason: `${ENGINE_LABEL[t.slow]}: ${slow.reason}` };
  return { value: slow.timing.ms / fast.timing.ms };
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function cellText(cell: Cell): string {
  if (!cell.ok) return `n/a (${cell.reason})`;
  const ms = cell.timing.ms;
  return `${cell.filled ? '+' : ''}${ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)} ms`;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const started = performance.now();
  const fastPlan: Plan = { warmup: 3, runs: flags.runs };
  // the cpu backend takes a minute or more per training step: warm up on a batch of 2, then
  // time few full-size steps
  const cpuPlan: Plan = { warmup: 0, runs: flags.cpuRuns, primeBatch: 2 };
  const cpuSamplerPlan: Plan = { warmup: 1, runs: 3 };
  // the zoo pair takes seconds per step on cpu, and no target reads it: one step after a small warm-up
  const cpuZooPlan: Plan = { warmup: 0, runs: 1, primeBatch: 2 };
  const cpus = os.cpus();
  console.log(
    `ppgn bench: tfjs ${tf.version.tfjs}, Node ${process.version}, ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}`,
  );
  console.log(
    `median of ${flags.runs} runs after 3 warm-up runs (cpu: training ${flags.cpuRuns} run${flags.cpuRuns > 1 ? 's' : ''} ` +
      'after a small-batch warm-up, sampler 3 runs after 1, zoo sampler 1 run after a small-batch warm-up)',
  );
  const load = os.loadavg()[0] ?? 0;
  if (load > cpus.length * 0.5) {
    console.log(`load average ${load.toFixed(1)} on ${cpus.length} cores: other work is running, timings (the pool's most) will suffer`);
  }
  console.log('');

  const results = {} as Record<Engine, Record<Step, Cell>>;
  const shardBatch: Record<Step, number> = {
    train: Math.ceil(TRAIN_BATCH / flags.poolSize),
    sampler: Math.ceil(SAMPLER_BATCH / flags.poolSize),
    samplerZoo: Math.ceil(SAMPLER_BATCH / flags.poolSize),
  };
  let shardCells: Record<Step, Cell> | undefined;
  const single: SingleJob['engine'][] = ['cpu', 'wasm-stock', 'wasm', 'wasm-threads'];
  const skipped: Cell = { ok: false, reason: 'skipped' };
  const skip = { train: skipped, sampler: skipped, samplerZoo: skipped };
  for (const engine of single) {
    if (!flags.only.includes(engine)) {
      results[engine] = skip;
      continue;
    }
    progress(`timing ${ENGINE_LABEL[engine]} ...`);
    const plans =
      engine === 'cpu'
        ? { train: cpuPlan, sampler: cpuSamplerPlan, samplerZoo: cpuZooPlan }
        : { train: fastPlan, sampler: fastPlan, samplerZoo: fastPlan };
    const shard = engine === 'wasm' ? shardBatch : undefined;
    const { shard: shardResult, ...cells } = await inWorker({ engine, plans, shard, threads: flags.poolSize });
    results[engine] = cells;
    shardCells ??= shardResult;
  }
  let pool: PoolRun = { cells: skip, backends: [] };
  const headroom: number[] = [];
  if (flags.only.includes('pool')) {
    progress(`timing ${ENGINE_LABEL.pool} (${flags.poolSize} workers) ...`);
    headroom.push(await parallelHeadroom(flags.poolSize));
    pool = await runPool(flags.poolSize, fastPlan);
    headroom.push(await parallelHeadroom(flags.poolSize));
  }
  results.pool = pool.cells;
  if (flags.only.includes('tensorflow')) {
    progress('timing native tensorflow ...');
    results.tensorflow = await runNative(fastPlan);
  } else results.tensorflow = skip;

  const engines = ENGINES;
  const headers = engines.map((e) =>
    e === 'pool' || e === 'wasm-threads' ? `${ENGINE_LABEL[e]} x${flags.poolSize}` : ENGINE_LABEL[e],
  );
  const steps = STEPS;
  const rows = steps.map((s) => engines.map((e) => cellText(results[e][s])));
  const first = Math.max(...steps.map((s) => STEP_LABEL[s].length));
  const widths = engines.map((_, i) => Math.max(headers[i]!.length, ...rows.map((r) => Math.min(r[i]!.length, 40))));
  const clip = (t: string) => (t.length > 40 ? `${t.slice(0, 37)}...` : t);
  console.log(`\n${pad('', first)}  ${headers.map((h, i) => pad(h, widths[i]!, true)).join('  ')}`);
  steps.forEach((s, k) => {
    console.log(`${pad(STEP_LABEL[s], first)}  ${rows[k]!.map((t, i) => pad(clip(t), widths[i]!, true)).join('  ')}`);
  });
  const notes = new Set<string>();
  for (const e of engines) for (const s of steps) {
    const c = results[e][s];
    if (!c.ok && c.reason.length > 40) notes.add(`${ENGINE_LABEL[e]}: ${c.reason}`);
  }
  for (const e of engines) for (const s of steps) {
    const c = results[e][s];
    if (c.ok && c.filled) {
      notes.add(`+ ${ENGINE_LABEL[e]} has no ${c.filled.join(', ')}: these cells ran this package's kernel for that op only, stock kernels for the rest`);
    }
  }
  for (const n of notes) console.log(`  note: ${n}`);

  const targets: Target[] = [
    { name: 'patched wasm vs cpu, training', step: 'train', fast: 'wasm', slow: 'cpu', goal: 100 },
    { name: 'patched vs stock wasm, sampler step (reference pair)', step: 'sampler', fast: 'wasm', slow: 'wasm-stock', goal: 5 },
    { name: 'patched vs stock wasm, sampler step (zoo pair)', step: 'samplerZoo', fast: 'wasm', slow: 'wasm-stock', goal: 5 },
    { name: 'patched wasm threads vs stock wasm, sampler step (reference)', step: 'sampler', fast: 'wasm-threads', slow: 'wasm-stock', goal: 5 },
    { name: 'patched wasm threads vs stock wasm, sampler step (zoo)', step: 'samplerZoo', fast: 'wasm-threads', slow: 'wasm-stock', goal: 5 },
    { name: 'wasm threads vs one wasm thread, training', step: 'train', fast: 'wasm-threads', slow: 'wasm', goal: 1.6 },
    { name: 'wasm threads vs one wasm thread, sampler (reference)', step: 'sampler', fast: 'wasm-threads', slow: 'wasm', goal: 1.6 },
    { name: 'wasm threads vs one wasm thread, sampler (zoo)', step: 'samplerZoo', fast: 'wasm-threads', slow: 'wasm', goal: 1.6 },
    { name: 'pool vs one wasm thread, training', step: 'train', fast: 'pool', slow: 'wasm', goal: 1.6 },
    { name: 'pool vs one wasm thread, sampler step (reference)', step: 'sampler', fast: 'pool', slow: 'wasm', goal: 1.6 },
    { name: 'pool vs one wasm thread, sampler step (zoo)', step: 'samplerZoo', fast: 'pool', slow: 'wasm', goal: 1.6 },
    { name: 'native vs wasm, training', step: 'train', fast: 'tensorflow', slow: 'wasm', goal: 3 },
    { name: 'native vs wasm, sampler step (reference)', step: 'sampler', fast: 'tensorflow', slow: 'wasm', goal: 3 },
    { name: 'native vs wasm, sampler step (zoo)', step: 'samplerZoo', fast: 'tensorflow', slow: 'wasm', goal: 3 },
    { name: 'native vs wasm threads, training', step: 'train', fast: 'tensorflow', slow: 'wasm-threads', goal: 3 },
  ];
  const checked = targets.map((t) => {
    const r = ratio(results, t);
    const status = r.value === undefined ? 'n/a' : r.value >= t.goal ? 'PASS' : 'MISS';
    return { ...t, ratio: r.value ?? null, status, reason: r.reason ?? null };
  });
  const nameWidth = Math.max(...targets.map((t) => t.name.length));
  console.log(`\n${pad('speedup', nameWidth)}  ${pad('measured', 9, true)}  ${pad('target', 8, true)}  result`);
  for (const c of checked) {
    const measured = c.ratio === null ? '-' : `${c.ratio.toFixed(c.ratio >= 10 ? 0 : 2)}x`;
    const slow = results[c.slow][c.step];
    const filled = slow.ok && slow.filled ? `  (+ ${ENGINE_LABEL[c.slow]} with ${slow.filled.join(', ')} filled in)` : '';
    const why = c.reason ? `  (${c.reason})` : filled;
    console.log(`${pad(c.name, nameWidth)}  ${pad(measured, 9, true)}  ${pad(`>= ${c.goal}x`, 8, true)}  ${c.status}${why}`);
  }
  // what bounds the pool: one thread's time at the shard size, and the main thread's share
  const poolNotes: string[] = [];
  for (const st of steps) {
    const whole = results.wasm[st];
    const part = shardCells?.[st];
    if (whole.ok && part?.ok) {
      poolNotes.push(
        `${{ train: 'training', sampler: 'sampler (reference)', samplerZoo: 'sampler (zoo)' }[st]}: one wasm thread takes ` +
          `${cellText(part)} at batch ${shardBatch[st]} ` +
          `vs ${cellText(whole)} at ${st === 'train' ? TRAIN_BATCH : SAMPLER_BATCH}, so ${flags.poolSize} perfect workers ` +
          `would give ${(whole.timing.ms / part.timing.ms).toFixed(2)}x`,
      );
    }
  }
  if (pool.trainSplit) {
    poolNotes.push(
      `pool training step: slowest worker ${pool.trainSplit.workerMs.toFixed(1)} ms, main thread ` +
        `${pool.trainSplit.mainMs.toFixed(1)} ms (weights, shards, gradient sum, Adam), the rest messaging and waiting`,
    );
  }
  if (headroom.length) {
    poolNotes.push(
      `machine: ${flags.poolSize} threads of plain JS ran ${headroom.map((h) => `${h.toFixed(2)}x`).join(' / ')} ` +
        `as fast as one (before / after the pool runs; ${flags.poolSize}x on idle cores)`,
    );
  }
  if (poolNotes.length) console.log(`\npool limits (${os.loadavg()[0]?.toFixed(1)} load average now):`);
  for (const n of poolNotes) console.log(`  ${n}`);
  const seconds = (performance.now() - started) / 1000;
  console.log(`\n${seconds.toFixed(0)} s in all; pool workers on ${pool.backends.join(', ') || 'none'}`);

  const out = resolve(process.cwd(), flags.out);
  mkdirSync(dirname(out), { recursive: true });
  const json = {
    date: new Date().toISOString(),
    tfjs: tf.version.tfjs,
    node: process.version,
    cpu: { count: cpus.length, model: cpus[0]?.model ?? null },
    config: {
      trainBatch: TRAIN_BATCH,
      samplerBatch: SAMPLER_BATCH,
      poolSize: flags.poolSize,
      fastPlan,
      cpuPlan: { train: cpuPlan, sampler: cpuSamplerPlan, samplerZoo: cpuZooPlan },
      samplerModels: {
        sampler: 'reference: G dense 128 -> 4x4x128 -> upconv 64, 32, 3; C conv 32, 64 s2, 128 s2 -> dense 10',
        samplerZoo: "zoo shapes entry: G h 256 -> dense 512 -> 4x4x128 -> (upconv k4 s2 + conv k3) x3 (64, 32, 32) -> conv 3 sigmoid; C conv 32, 32, pool, 64, 64, pool, dense 256, dense 15",
      },
    },
    results: Object.fromEntries(
      engines.map((e) => [
        e,
        Object.fromEntries(
          steps.map((s) => {
            const c = results[e][s];
            if (!c.ok) return [s, { na: c.reason }];
            return [s, { ms: c.timing.ms, samples: c.timing.samples, warmup: c.timing.warmup, ...(c.filled ? { filledIn: c.filled } : {}) }];
          }),
        ),
      ]),
    ),
    poolBackends: pool.backends,
    poolLimits: {
      shardBatch,
      oneThreadAtShard: shardCells
        ? Object.fromEntries(steps.map((st) => [st, shardCells[st].ok ? { ms: shardCells[st].timing.ms } : { na: shardCells[st].reason }]))
        : null,
      trainSplit: pool.trainSplit ?? null,
      parallelHeadroom: headroom,
      notes: poolNotes,
    },
    loadAverage: os.loadavg(),
    targets: checked.map(({ name, step, fast, slow, goal, ratio: r, status, reason }) => ({
      name,
      step,
      fast,
      slow,
      goal,
      ratio: r,
      status,
      reason,
    })),
    seconds,
  };
  writeFileSync(`${out}.tmp`, `${JSON.stringify(json, null, 2)}\n`);
  renameSync(`${out}.tmp`, out);
  console.log(`wrote ${out}`);
}

function isEntry(): boolean {
  const script = process.argv[1];
  if (!isMainThread || !script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

const job = (workerData as { ppgnBench?: SingleJob } | null)?.ppgnBench;
if (!isMainThread && job) {
  const { parentPort } = await import('node:worker_threads');
  runSingle(job).then(
    (result) => parentPort?.postMessage(result),
    (err: unknown) => parentPort?.postMessage({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
} else if (isEntry()) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : err);
      process.exit(1);
    },
  );
}
