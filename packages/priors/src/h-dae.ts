import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import type { Prior } from '@ppgn/core';
import type { TrainingData, TrainingResult } from '@ppgn/core';
import { type DenoiserTrainingOptions, trainDenoiser } from './train-denoiser.js';

/** Hidden widths of the paper's h DAE (4096-2048-1024-500-1024-2048-4096) as fractions of 4096. */
const PAPER_SHAPE = [2048, 1024, 500, 1024, 2048].map((u) => u / 4096);

/** Arguments of `buildHDae`. */
export interface HDaeArgs {
  /** Length of the codes h it denoises (input and output size). */
  size: number;
  /**
   * Hidden layer widths. Default: the paper's 4096-2048-1024-500-1024-2048-4096 shape
   * scaled to `size` (each width at least min(size, 16), so small codes keep a usable
   * bottleneck).
   */
  hidden?: number[];
  /** Activation of the hidden layers (a tfjs activation name). Default 'relu'. */
  activation?: 'relu' | 'elu' | 'tanh' | 'selu' | 'swish';
  /** Seed for the weight initialisers. */
  seed?: number;
  /** Model name. Default `h_dae`. */
  name?: string;
}

/** The default hidden widths `buildHDae` uses for codes of length `size`. */
export function hDaeHiddenUnits(size: number): number[] {
  const floor = Math.min(size, 16);
  return PAPER_SHAPE.map((f) => Math.max(floor, Math.round(f * size)));
}

/**
 * Builds a denoising autoencoder on codes h as an MLP: size -> hidden... -> size with a
 * linear output (R(h) estimates the clean code).
 */
export function buildHDae(args: HDaeArgs): LayersModel {
  const who = 'buildHDae';
  if (!Number.isInteger(args.size) || args.size <= 0) throw new Error(`${who}: size must be a positive integer, got ${args.size}`);
  const hidden = args.hidden ?? hDaeHiddenUnits(args.size);
  hidden.forEach((u, i) => {
    if (!Number.isInteger(u) || u <= 0) throw new Error(`${who}: hidden[${i}] must be a positive integer, got ${u}`);
  });
  const name = args.name ?? 'h_dae';
  let layer = 0;
  const init = () =>
    args.seed === undefined ? {} : { kernelInitializer: tfl.initializers.glorotUniform({ seed: args.seed * 1009 + ++layer }) };
  const input = tfl.input({ shape: [args.size], name: `${name}_h` });
  let x: SymbolicTensor = input;
  for (const units of hidden) {
    x = tfl.layers.dense({ units, activation: args.activation ?? 'relu', ...init() }).apply(x) as SymbolicTensor;
  }
  const out = tfl.layers.dense({ units: args.size, ...init() }).apply(x) as SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name });
}

/** Options of `trainHDae`. */
export interface TrainHDaeOptions extends DenoiserTrainingOptions {
  /** The DAE to train (from `buildHDae`, or any model [batch, n] -> [batch, n]). */
  dae: LayersModel;
  /** Clean codes h [N, n] (see `TrainingData`), e.g. E(x) over a data set. */
  codes: TrainingData<Tensor2D>;
}

/** Input size n of a DAE on codes, checking that it maps [batch, n] to [batch, n]. */
function codeDaeSize(dae: LayersModel, who: string): number {
  const inShape = dae.inputs[0]?.shape ?? [];
  const outShape = dae.outputs[0]?.shape ?? [];
  const n = inShape[1];
  if (dae.inputs.length !== 1 || dae.outputs.length !== 1 || inShape.length !== 2 || typeof n !== 'number' || outShape.length !== 2 || outShape[1] !== n) {
    throw new Error(
      `${who}: the DAE must map codes [batch, n] to [batch, n], it maps [${inShape.map((d) => d ?? 'batch').join(', ')}] to ` +
        `[${outShape.map((d) => d ?? 'batch').join(', ')}]`,
    );
  }
  return n;
}

/**
 * Trains a DAE on codes h: R(h + sigma * n) ~ h (PPGN-h's prior). Resumes from
 * `checkpointDir`; throws `NonFiniteLossError` on a NaN loss. The losses of each step are
 * in the result's `history` (`loss`, `gradNorm`).
 */
export async function trainHDae(options: TrainHDaeOptions): Promise<TrainingResult> {
  const who = 'trainHDae';
  const n = codeDaeSize(options.dae, who);
  return trainDenoiser(
    who,
    options.dae,
    options.codes,
    (b) => {
      if (b.rank !== 2 || b.shape[1] !== n) {
        throw new Error(`${who}: the DAE maps ${n}-d codes but a batch of codes is [${b.shape.join(', ')}]`);
      }
    },
    options,
  );
}

/** Options of `daePrior`. */
export interface DaePriorOptions {
  /** R: a DAE on codes (from `buildHDae` / `trainHDae`). The prior owns it: `dispose()` disposes it. */
  dae: LayersModel;
  /** The corruption std the DAE was trained with. */
  sigma: number;
  /** Default `dae-prior(sigma=...)`. */
  id?: string;
}

/**
 * PPGN-h's prior: a DAE R on h approximates the score, d log p(h)/dh ~ (R(h) - h) / sigma^2
 * (Alain & Bengio). Space 'h'. Codes of any latent shape are flattened to the DAE's n.
 */
export function daePrior(options: DaePriorOptions): Prior {
  const who = 'daePrior';
  const { dae, sigma } = options;
  if (!(Number.isFinite(sigma) && sigma > 0)) throw new Error(`${who}: sigma must be a positive number, got ${sigma}`);
  const n = codeDaeSize(dae, who);
  const inv = 1 / (sigma * sigma);
  let disposed = false;
  return {
    id: options.id ?? `dae-prior(sigma=${sigma})`,
    space: 'h',
    gradLogProb(h: Tensor, _x?: Tensor4D): Tensor {
      const size = h.shape.slice(1).reduce((a, b) => a * b, 1);
      if (h.rank < 2 || size !== n) {
        throw new Error(`${who}: DAE maps ${n}-d codes but h is ${h.shape.slice(1).join('x') || 'scalar'}-d`);
      }
      return tf.tidy(() => {
        const flat = tf.reshape(h, [h.shape[0]!, n]);
        const r = dae.apply(flat, { training: false }) as Tensor;
        return tf.reshape(tf.mul(tf.sub(r, flat), inv), h.shape);
      });
    },
    describe: () => `DAE prior on ${n}-d h: (R(h) - h) / ${sigma}^2 (${dae.countParams()} parameters)`,
    dispose() {
      if (disposed) return;
      disposed = true;
      dae.dispose();
    },
  };
}
