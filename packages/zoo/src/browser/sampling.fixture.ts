/**
 * Bundled for the browser by browser.test.ts and run without Node's globals: loads the mnist
 * entry's classifier and joint generator over HTTP and samples class 3 on tfjs's wasm backend
 * (its binaries fetched too) with the library's browser builds, as a web page would; then
 * loads the shapes captioner and the mnist LAPGAN pyramid over HTTP, captions a scene and
 * samples four digits through the pyramid.
 */
import '@tensorflow/tfjs-backend-webgl';
import { initBackend } from '@ppgn/backend';
import { greedyCaption, loadCaptioner } from '@ppgn/condition-captioner';
import { classCondition, encoderAt } from '@ppgn/condition-classifier';
import { encodeGif, imageGrid, loadModel, saveModel } from '@ppgn/core';
import { dgnGenerator } from '@ppgn/generator';
import { loadPyramid, samplePyramid } from '@ppgn/lapgan';
import { jointPrior } from '@ppgn/priors';
import { sample } from '@ppgn/sampler';
import * as tf from '@tensorflow/tfjs-core';

export interface BrowserRun {
  hasProcess: boolean;
  backend: string;
  imageShape: number[];
  finite: boolean;
  /** Mean p(3 | x) over the chains at the start and the end. */
  startProb: number;
  endProb: number;
  gifHeader: string;
  gridShape: number[];
  saveError: string;
  leaked: number;
  /** The shapes captioner's caption of `testScene()`. */
  caption: string;
  /** Conv filter gradients computed during one more sampler step (the sampler wants none). */
  filterGradients: number;
  /** `pyramidSamples()` from the mnist LAPGAN pyramid, flattened. */
  pyramid: { shape: number[]; values: number[] };
}

/** Four digits (classes 0, 1, 7, 9) from a LAPGAN pyramid, seed 1 (the same call the test makes in Node). */
export async function pyramidSamples(dir: string): Promise<{ shape: number[]; values: number[] }> {
  const pyramid = await loadPyramid(dir, { discriminators: false });
  const { images, levels } = samplePyramid({ pyramid, n: 4, classIndex: [0, 1, 7, 9], seed: 1 });
  const out = { shape: images.shape, values: Array.from(images.dataSync()) };
  tf.dispose([images, ...levels]);
  pyramid.dispose();
  return out;
}

/** A 32x32 RGB scene: a red square on a dark background (made the same way in Node by the test). */
export function testScene(): tf.Tensor4D {
  return tf.tidy(() => {
    const square = tf.pad(tf.ones([10, 10, 1]), [
      [11, 11],
      [11, 11],
      [0, 0],
    ]);
    return tf.stack([tf.concat([square, tf.zeros([32, 32, 2])], 2)]) as tf.Tensor4D;
  });
}

function meanProb(logProbs: number[]): number {
  return logProbs.reduce((a, lp) => a + Math.exp(lp), 0) / logProbs.length;
}

/**
 * `base` serves the zoo's models and, under `wasm/`, tfjs-backend-wasm's binaries. `backend`:
 * wasm with the library's training kernels (the sampler's input gradients use them), or WebGL.
 */
export async function run(base: string, steps: number, backend: 'wasm' | 'webgl' = 'wasm'): Promise<BrowserRun> {
  if (backend === 'wasm') await initBackend({ backend: 'wasm', wasmPaths: `${base}/wasm/` });
  else if (!(await tf.setBackend('webgl'))) throw new Error('no WebGL here');
  const classifier = await loadModel(`${base}/mnist/classifier`);
  const generatorModel = await loadModel(`${base}/mnist/generator-joint/model.json`);
  const generator = dgnGenerator(generatorModel, { id: 'mnist/generator-joint' });
  const prior = jointPrior({ encoder: encoderAt(classifier, 'fc') });
  const condition = classCondition({ model: classifier, classIndex: 3 });
  const before = tf.memory().numTensors;
  let startProb = Number.NaN;
  const result = await sample({
    generator,
    prior,
    condition,
    variant: 'noiseless-joint-ppgn-h',
    batch: 4,
    seed: 1,
    steps,
    saveEvery: 0,
    clip: [0, 30],
    onStep: ({ step, trace }) => {
      if (step === 0 && trace.logProb) startProb = meanProb(trace.logProb);
    },
  });
  const finite = tf.tidy(() => tf.all(tf.isFinite(result.images)).dataSync()[0] === 1);
  const oneStep = await tf.profile(async () => {
    (await sample({ generator, prior, condition, variant: 'noiseless-joint-ppgn-h', batch: 4, seed: 2, steps: 1, saveEvery: 0 })).dispose();
  });
  const filterGradients = oneStep.kernels.filter((k) => k.name === 'Conv2DBackpropFilter').length;
  const grid = imageGrid(result.images, { columns: 4 });
  const gif = encodeGif([grid, grid]);
  let saveError = '';
  try {
    await saveModel(classifier, 'models/mnist/classifier');
  } catch (err) {
    saveError = (err as Error).message;
  }
  const out: BrowserRun = {
    hasProcess: typeof (globalThis as { process?: unknown }).process !== 'undefined',
    backend: tf.getBackend(),
    imageShape: result.images.shape,
    finite,
    startProb,
    endProb: result.logProb ? meanProb(result.logProb) : Number.NaN,
    gifHeader: String.fromCharCode(...gif.slice(0, 6)),
    gridShape: grid.shape,
    saveError,
    filterGradients,
    leaked: 0,
    caption: '',
    pyramid: { shape: [], values: [] },
  };
  grid.dispose();
  result.dispose();
  out.leaked = tf.memory().numTensors - before;
  for (const part of [condition, prior, generator]) part.dispose(); // the generator owns its model
  classifier.dispose();

  const captioner = await loadCaptioner(`${base}/shapes/captioner`);
  const scene = testScene();
  out.caption = greedyCaption(captioner, scene)[0]!.caption;
  scene.dispose();
  captioner.dispose();

  out.pyramid = await pyramidSamples(`${base}/mnist/lapgan`);
  return out;
}
