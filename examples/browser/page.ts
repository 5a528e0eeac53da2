/**
 * The browser demo's page script (bundled by browser.ts): samples the chosen digit with the
 * mnist zoo models on wasm, drawing the samples and the chain as they come.
 */
import { initBackend } from '@ppgn/backend';
import { classCondition, encoderAt } from '@ppgn/condition-classifier';
import { encodeGif, imageGrid, loadModel } from '@ppgn/core';
import { dgnGenerator } from '@ppgn/generator';
import { loadPyramid, resizeNearest, samplePyramid } from '@ppgn/lapgan';
import { jointPrior } from '@ppgn/priors';
import { type Frame, sample } from '@ppgn/sampler';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $<HTMLDivElement>('status');
const digit = $<HTMLSelectElement>('digit');
const stepsInput = $<HTMLInputElement>('steps');
const button = $<HTMLButtonElement>('run');
const canvas = $<HTMLCanvasElement>('grid');
const chain = $<HTMLImageElement>('chain');
const pyramidButton = $<HTMLButtonElement>('pyramid');
const levelsCanvas = $<HTMLCanvasElement>('levels');

/** Draws a [n, H, W, C] batch as one labelled grid on the page's canvas. */
async function draw(images: tf.Tensor4D, labels: string[]): Promise<void> {
  const grid = imageGrid(images, { columns: 8, scale: 3, labels });
  await tf.browser.toPixels(grid, canvas);
  grid.dispose();
}

/** The chain as an animated GIF: one grid per saved frame. */
function chainGif(frames: Frame[]): string {
  const grids = frames.map((f) => tf.tidy(() => imageGrid(tf.tensor4d(f.images, f.shape), { columns: 8, scale: 2 })));
  const bytes = encodeGif(grids, { delayMs: 120 });
  tf.dispose(grids);
  return URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/gif' }));
}

const engine = await initBackend({ wasmPaths: '/wasm/' });
// tfjs runs wasm on every core when the page is cross-origin isolated (browser.ts sends the headers)
const backend = engine === 'wasm' ? `wasm, ${getThreadsCount()} thread${getThreadsCount() > 1 ? 's' : ''}` : engine;
const classifier = await loadModel('/models/mnist/classifier');
const generator = dgnGenerator(await loadModel('/models/mnist/generator-joint'), { id: 'mnist/generator-joint' });
const prior = jointPrior({ encoder: encoderAt(classifier, 'fc') });
const pyramid = await loadPyramid('/models/mnist/lapgan', { discriminators: false });
for (let d = 0; d < 10; d++) digit.add(new Option(String(d), String(d)));
digit.value = '3';

async function run(classIndex: number, steps: number, seed: number): Promise<{ probs: number[]; ms: number }> {
  const condition = classCondition({ model: classifier, classIndex });
  const started = performance.now();
  const result = await sample({
    generator,
    prior,
    condition,
    variant: 'noiseless-joint-ppgn-h',
    batch: 8,
    seed,
    steps,
    clip: [0, 30],
    onStep: ({ step, trace }) => {
      const p = trace.logProb ? trace.logProb.reduce((a, lp) => a + Math.exp(lp), 0) / trace.logProb.length : Number.NaN;
      status.textContent = `step ${step + 1}/${steps}   mean p(${classIndex} | x) ${p.toFixed(3)}   (${backend})`;
    },
  });
  const ms = performance.now() - started;
  const probs = (result.logProb ?? []).map((lp) => Math.exp(lp));
  await draw(result.images, probs.map((p) => `p ${p.toFixed(2)}`));
  if (chain.src) URL.revokeObjectURL(chain.src);
  chain.src = chainGif(result.frames);
  status.textContent = `digit ${classIndex}: ${steps} steps in ${(ms / 1000).toFixed(1)} s on ${backend}; p(${classIndex} | x) per chain ${probs.map((p) => p.toFixed(2)).join(' ')}`;
  result.dispose();
  condition.dispose();
  return { probs, ms };
}

/** Eight samples of the digit through the pyramid: each step's images, enlarged to the final size, one row per step. */
async function drawPyramid(classIndex: number, seed: number): Promise<void> {
  const { images, levels } = samplePyramid({ pyramid, n: 8, classIndex, seed });
  const size = images.shape[1];
  const rows = tf.tidy(() => tf.concat(levels.map((l) => resizeNearest(l, size)), 0) as tf.Tensor4D);
  const labels = levels.flatMap((l) => Array.from({ length: 8 }, () => `${l.shape[1]}x${l.shape[2]}`));
  const grid = imageGrid(rows, { columns: 8, scale: 3, labels });
  await tf.browser.toPixels(grid, levelsCanvas);
  tf.dispose([images, ...levels, rows, grid]);
}

let seed = 1;
button.onclick = async () => {
  button.disabled = true;
  try {
    await run(Number(digit.value), Number(stepsInput.value), seed++);
  } catch (err) {
    status.textContent = `failed: ${(err as Error).message}`;
  } finally {
    button.disabled = false;
  }
};
pyramidButton.onclick = async () => {
  pyramidButton.disabled = true;
  try {
    await drawPyramid(Number(digit.value), seed++);
  } finally {
    pyramidButton.disabled = false;
  }
};
button.disabled = false;
pyramidButton.disabled = false;
status.textContent = `ready (${backend}): pick a digit and press Sample`;

// `?check`: one run, then the page sends its picture and numbers back (browser.ts --check)
if (new URLSearchParams(location.search).has('check')) {
  const report = async (body: object) => fetch('/check', { method: 'POST', body: JSON.stringify(body) });
  try {
    const { probs, ms } = await run(3, 100, 1);
    await drawPyramid(3, 1);
    await report({ probs, ms, backend, png: canvas.toDataURL('image/png'), pyramidPng: levelsCanvas.toDataURL('image/png'), status: status.textContent });
  } catch (err) {
    await report({ error: String((err as Error).stack ?? err) });
  }
}
