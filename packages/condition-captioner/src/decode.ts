import { assertImageBatch } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import type { Captioner } from './captioner.js';

/** A caption produced by a decoder. */
export interface CaptionResult {
  /** The words, joined by spaces. */
  caption: string;
  /** Word ids (no `<bos>`/`<eos>`). */
  ids: number[];
  /** log p(caption | image): the sum of the chosen tokens' log-probabilities, `<eos>` included. */
  logProb: number;
}

/**
 * Next-token log-probabilities at step `t` for each row of `tokens` ([B, T] row-major ids),
 * read from one decoder pass over all T steps. Returns B rows of V values.
 */
function stepLogProbs(captioner: Captioner, features: Tensor2D, tokens: Int32Array, t: number): Float32Array[] {
  const batch = features.shape[0];
  const V = captioner.vocabulary.size;
  const T = captioner.steps;
  const flat = tf.tidy(() => {
    const ids = tf.tensor2d(tokens, [batch, T], 'int32');
    const logits = tf.slice(captioner.logits(features, ids), [0, t, 0], [batch, 1, V]) as Tensor3D;
    return tf.logSoftmax(tf.reshape(logits, [batch, V])).dataSync() as Float32Array;
  });
  return Array.from({ length: batch }, (_, b) => flat.subarray(b * V, (b + 1) * V));
}

/**
 * The tokens a decoder may choose at step t: the words and `<eos>`, never `<bos>` or
 * `<pad>`; only `<eos>` at the last step (after maxLength words).
 */
function allowed(captioner: Captioner, t: number): number[] {
  const v = captioner.vocabulary;
  if (t === captioner.maxLength) return [v.eos];
  return Array.from({ length: v.size }, (_, i) => i).filter((i) => i !== v.bos && i !== v.pad);
}

/**
 * Greedy decoding: at each step the most likely next token (among words and `<eos>`),
 * until `<eos>` or maxLength words. One caption per image of `images` [B, H, W, C].
 */
export function greedyCaption(captioner: Captioner, images: Tensor4D): CaptionResult[] {
  assertImageBatch(images, captioner.imageShape, 'greedyCaption');
  const batch = images.shape[0];
  const v = captioner.vocabulary;
  const T = captioner.steps;
  const tokens = new Int32Array(batch * T).fill(v.pad);
  const ids: number[][] = Array.from({ length: batch }, () => []);
  const logProb = new Float64Array(batch);
  const done = new Array<boolean>(batch).fill(false);
  for (let b = 0; b < batch; b++) tokens[b * T] = v.bos;
  const features = tf.tidy(() => captioner.features(images));
  try {
    for (let t = 0; t < T && done.includes(false); t++) {
      const rows = stepLogProbs(captioner, features, tokens, t);
      const choices = allowed(captioner, t);
      rows.forEach((row, b) => {
        if (done[b]) return;
        let best = choices[0]!;
        for (const k of choices) if (row[k]! > row[best]!) best = k;
        logProb[b]! += row[best]!;
        if (best === v.eos) {
          done[b] = true;
        } else {
          ids[b]!.push(best);
          tokens[b * T + t + 1] = best;
        }
      });
    }
  } finally {
    features.dispose();
  }
  return ids.map((w, b) => ({ caption: v.decode(w), ids: w, logProb: logProb[b]! }));
}

/** Options of `beamSearchCaption`. */
export interface BeamSearchOptions {
  /** Hypotheses kept at each step (and returned at most). Default 3. */
  beamWidth?: number;
}

/**
 * Beam search for one image ([H, W, C] or [1, H, W, C]): keeps the `beamWidth` most likely
 * partial captions at each step; a hypothesis ends with `<eos>` (forced after maxLength
 * words). Returns the finished captions, most likely first (at most `beamWidth`), scored by
 * their total log-probability (no length normalisation). With `beamWidth` 1 it is greedy
 * decoding.
 */
export function beamSearchCaption(
  captioner: Captioner,
  image: tf.Tensor3D | Tensor4D,
  options: BeamSearchOptions = {},
): CaptionResult[] {
  const width = options.beamWidth ?? 3;
  if (!Number.isInteger(width) || width <= 0) {
    throw new Error(`beamSearchCaption: beamWidth must be a positive integer, got ${width}`);
  }
  if (image.rank === 4 && image.shape[0] !== 1) {
    throw new Error(`beamSearchCaption: takes one image, got a batch of ${image.shape[0]}`);
  }
  const x = (image.rank === 3 ? tf.expandDims(image, 0) : image) as Tensor4D;
  let one: Tensor2D;
  try {
    assertImageBatch(x, captioner.imageShape, 'beamSearchCaption');
    one = tf.tidy(() => captioner.features(x));
  } finally {
    if (x !== image) x.dispose();
  }
  const v = captioner.vocabulary;
  const T = captioner.steps;
  type Hypothesis = { ids: number[]; logProb: number };
  let alive: Hypothesis[] = [{ ids: [], logProb: 0 }];
  const finished: Hypothesis[] = [];
  try {
    for (let t = 0; t < T && alive.length > 0; t++) {
      const tokens = new Int32Array(alive.length * T).fill(v.pad);
      alive.forEach((h, b) => {
        tokens[b * T] = v.bos;
        h.ids.forEach((id, i) => {
          tokens[b * T + i + 1] = id;
        });
      });
      const features = tf.tidy(() => tf.tile(one, [alive.length, 1]) as Tensor2D);
      let rows: Float32Array[];
      try {
        rows = stepLogProbs(captioner, features, tokens, t);
      } finally {
        features.dispose();
      }
      const choices = allowed(captioner, t);
      const candidates: { from: Hypothesis; token: number; logProb: number }[] = [];
      alive.forEach((h, b) => {
        for (const k of choices) candidates.push({ from: h, token: k, logProb: h.logProb + rows[b]![k]! });
      });
      candidates.sort((a, b) => b.logProb - a.logProb);
      const next: Hypothesis[] = [];
      for (const c of candidates.slice(0, width)) {
        if (c.token === v.eos) finished.push({ ids: c.from.ids, logProb: c.logProb });
        else next.push({ ids: [...c.from.ids, c.token], logProb: c.logProb });
      }
      finished.sort((a, b) => b.logProb - a.logProb);
      // Scores only fall as captions grow: stop once no live hypothesis can enter the top `width`.
      const bar = finished.length >= width ? finished[width - 1]!.logProb : -Infinity;
      alive = next.filter((h) => h.logProb > bar);
    }
  } finally {
    one.dispose();
  }
  return finished.slice(0, width).map((h) => ({ caption: v.decode(h.ids), ids: h.ids, logProb: h.logProb }));
}
