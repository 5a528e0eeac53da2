import type { ImageInputOptions } from '@ppgn/condition-classifier';
import { type Encoder, type Generator, Rng, shapeToString } from '@ppgn/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor1D, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { layerActivations } from './layer-activations.js';
import { checkUnit, layerReader, type Position } from './unit.js';

/** Arguments of `facetStarts`. */
export interface FacetStartsArgs extends ImageInputOptions {
  /** The model whose unit is visualised (any tfjs LayersModel with one input). */
  model: LayersModel;
  layer: string;
  unit: number;
  /** Conv layers: [row, col] in the layer's output. Default the centre. */
  position?: Position;
  /** Real images to start from, e.g. the training set, [N, H, W, C] in [0, 1]. */
  images: Tensor4D;
  /** E: turns the chosen real images into codes. */
  encoder: Encoder;
  /**
   * G: when given, every start is checked on G(start) and a start where the unit is silent
   * is replaced by the code of the cluster member whose G(E(x)) excites the unit most (or of
   * the pool's best when G renders the whole cluster silent).
   */
  generator?: Generator;
  /** Number of facets (starting codes). */
  facets: number;
  /** How many of the most exciting images are clustered into facets. Default 10 per facet. */
  pool?: number;
  /** Seed of the clustering. Default 1. */
  seed?: number;
  /** Images per forward pass when reading activations. Default 256. */
  batchSize?: number;
}

/** What `facetStarts` found. `codes` is the caller's to dispose. */
export interface FacetStarts {
  /** [facets, ...codeShape]: one starting code per facet. */
  codes: Tensor2D;
  /** Per facet, the indices (into `images`) of its cluster, most exciting first. */
  clusters: number[][];
  /** Per facet, the unit's activation on G(start) (on the cluster's best image without a generator). */
  startActivations: number[];
  /** The pool: indices of the most exciting images, highest first, and their activations. */
  topIndices: number[];
  topActivations: number[];
}

const WHO = 'facetStarts';

/**
 * Starting codes for multifaceted neuron visualisation, in the spirit of Nguyen et al.'s
 * multifaceted feature visualisation: the real images that excite the unit most are
 * clustered (k-means on their codes E(x)) and each facet starts from its cluster's mean
 * code. Every start then lies where the unit already fires, so chains never sit at a dead
 * ReLU with zero gradient, and different clusters give different facets.
 *
 * @example
 * const starts = facetStarts({ model, layer: 'conv2b', unit: 7, images: train, encoder: E, generator: G, facets: 8 });
 * const result = await sample({ generator: G, prior, condition, batch: 8, seed: 1, init: starts.codes });
 */
export function facetStarts(args: FacetStartsArgs): FacetStarts {
  const { model, layer, unit, position, images, encoder, generator, facets } = args;
  if (!Number.isInteger(facets) || facets < 1) throw new Error(`${WHO}: facets must be a positive integer, got ${facets}`);
  const pool = args.pool ?? 10 * facets;
  if (!Number.isInteger(pool) || pool < 1) throw new Error(`${WHO}: pool must be a positive integer, got ${pool}`);
  if (images.rank !== 4 || images.shape[0] === 0) {
    throw new Error(`${WHO}: images must be a non-empty batch [N, H, W, C], got shape [${images.shape.join(', ')}]`);
  }
  if (shapeToString(images.shape.slice(1)) !== shapeToString(encoder.imageShape)) {
    throw new Error(`${WHO}: images are ${shapeToString(images.shape.slice(1))} but encoder ${encoder.id} accepts ${shapeToString(encoder.imageShape)}`);
  }
  if (generator && shapeToString(generator.latentShape) !== shapeToString(encoder.codeShape)) {
    throw new Error(
      `${WHO}: encoder ${encoder.id} makes codes of shape ${shapeToString(encoder.codeShape)} but generator ${generator.id} takes ${shapeToString(generator.latentShape)}`,
    );
  }
  const { geometry } = layerReader(model, layer, WHO);
  checkUnit(unit, geometry, layer, WHO);
  if (position !== undefined && geometry.kind === 'dense') {
    throw new Error(`${WHO}: layer '${layer}' is a dense layer with no spatial positions; leave position unset`);
  }
  const read = { unit, position, input: args.input, imageShape: args.imageShape, batchSize: args.batchSize ?? 256 };
  const activations = layerActivations(model, layer, images, read) as Tensor1D;
  const [topActivations, topIndices] = tf.tidy(() => {
    const { values, indices } = tf.topk(activations, Math.min(pool, images.shape[0]));
    return [Array.from(values.dataSync()), Array.from(indices.dataSync())];
  });
  activations.dispose();
  const firing = topActivations.filter((a) => a > 0).length;
  if (firing === 0) {
    throw new Error(
      `${WHO}: unit ${unit} of layer '${layer}' never fires on the ${images.shape[0]} images given (top activation ${topActivations[0]}); start from random codes instead`,
    );
  }
  const members = topIndices.slice(0, firing);
  const memberImages = tf.tidy(() => tf.gather(images, members)) as Tensor4D;
  const memberCodes = tf.tidy(() => tf.reshape(encoder.encode(memberImages), [firing, -1])) as Tensor2D;
  const codeDim = memberCodes.shape[1];
  const codeValues = memberCodes.dataSync() as Float32Array;
  // How much the unit fires on G(E(x)) of each member: a start is only as good as what G makes of it.
  let memberScore = topActivations.slice(0, firing);
  if (generator) {
    const regenerated = tf.tidy(() => generator.generate(tf.reshape(memberCodes, [firing, ...generator.latentShape])));
    const a = layerActivations(model, layer, regenerated, read);
    memberScore = Array.from(a.dataSync());
    tf.dispose([regenerated, a]);
  }
  memberImages.dispose();

  const k = Math.min(facets, firing);
  const assignment = kMeans(codeValues, firing, codeDim, k, new Rng(args.seed ?? 1));
  const groups: number[][] = Array.from({ length: k }, () => []);
  assignment.forEach((c, i) => {
    groups[c]!.push(i);
  });
  for (const g of groups) g.sort((a, b) => memberScore[b]! - memberScore[a]!);
  groups.sort((a, b) => memberScore[b[0]!]! - memberScore[a[0]!]!);
  // More facets than firing images: reuse the clusters, starting from their next-best members.
  const plan = Array.from({ length: facets }, (_, f) => ({ group: groups[f % k]!, round: Math.floor(f / k) }));
  const starts = new Float32Array(facets * codeDim);
  plan.forEach(({ group, round }, f) => {
    const row = starts.subarray(f * codeDim, (f + 1) * codeDim);
    if (round === 0) {
      for (const i of group) for (let d = 0; d < codeDim; d++) row[d]! += codeValues[i * codeDim + d]! / group.length;
    } else {
      const i = group[round % group.length]!;
      row.set(codeValues.subarray(i * codeDim, (i + 1) * codeDim));
    }
  });
  memberCodes.dispose();

  let startActivations = plan.map(({ group, round }) => memberScore[group[round % group.length]!]!);
  if (generator) {
    startActivations = unitOn(generator, starts, facets, read, model, layer);
    // A cluster mean where the unit is silent: fall back to the member G renders best, or,
    // when G renders the whole cluster silent, to the best member of the pool.
    let poolBest = 0;
    memberScore.forEach((a, i) => {
      if (a > memberScore[poolBest]!) poolBest = i;
    });
    plan.forEach(({ group }, f) => {
      if (startActivations[f]! > 0) return;
      const best = memberScore[group[0]!]! > 0 ? group[0]! : poolBest;
      starts.set(codeValues.subarray(best * codeDim, (best + 1) * codeDim), f * codeDim);
      startActivations[f] = memberScore[best]!;
    });
  }
  return {
    codes: tf.tensor2d(starts, [facets, codeDim]),
    clusters: plan.map(({ group }) => group.map((i) => members[i]!)),
    startActivations,
    topIndices,
    topActivations,
  };
}

function unitOn(
  generator: Generator,
  codes: Float32Array,
  n: number,
  read: Parameters<typeof layerActivations>[3],
  model: LayersModel,
  layer: string,
): number[] {
  const x = tf.tidy(() => generator.generate(tf.tensor(codes, [n, ...generator.latentShape])));
  const a = layerActivations(model, layer, x, read);
  const out = Array.from(a.dataSync());
  tf.dispose([x, a]);
  return out;
}

/** Squared Euclidean distance between rows i of a and j of b. */
function dist2(a: Float32Array, i: number, b: Float32Array, j: number, dim: number): number {
  let s = 0;
  for (let d = 0; d < dim; d++) {
    const v = a[i * dim + d]! - b[j * dim + d]!;
    s += v * v;
  }
  return s;
}

/**
 * k-means (k-means++ seeding, seeded) on n points of `dim` values; returns each point's
 * cluster, 0..k-1, with no empty cluster.
 */
export function kMeans(points: Float32Array, n: number, dim: number, k: number, rng: Rng, iterations = 25): number[] {
  if (k < 1 || k > n) throw new Error(`kMeans: k must be in 1..${n}, got ${k}`);
  const centres = new Float32Array(k * dim);
  const first = rng.int(n);
  centres.set(points.subarray(first * dim, (first + 1) * dim));
  const nearest = new Float64Array(n).fill(Infinity);
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      nearest[i] = Math.min(nearest[i]!, dist2(points, i, centres, c - 1, dim));
      total += nearest[i]!;
    }
    // Draw proportionally to squared distance; all points equal: take the next one.
    let pick = c;
    if (total > 0) {
      let r = rng.uniform() * total;
      for (pick = 0; pick < n - 1 && r >= nearest[pick]!; pick++) r -= nearest[pick]!;
    }
    centres.set(points.subarray(pick * dim, (pick + 1) * dim), c * dim);
  }
  const assignment = new Array<number>(n).fill(0);
  for (let it = 0; it < iterations; it++) {
    let changed = false;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestD = Infinity;
      for (let c = 0; c < k; c++) {
        const d = dist2(points, i, centres, c, dim);
        if (d < bestD) [best, bestD] = [c, d];
      }
      if (assignment[i] !== best) changed = true;
      assignment[i] = best;
    }
    // An empty cluster takes the point farthest from its centre.
    const counts = new Array<number>(k).fill(0);
    for (const c of assignment) counts[c]!++;
    for (let c = 0; c < k; c++) {
      if (counts[c]! > 0) continue;
      let far = -1;
      let farD = -1;
      for (let i = 0; i < n; i++) {
        if (counts[assignment[i]!]! < 2) continue;
        const d = dist2(points, i, centres, assignment[i]!, dim);
        if (d > farD) [far, farD] = [i, d];
      }
      counts[assignment[far]!]!--;
      assignment[far] = c;
      counts[c] = 1;
      changed = true;
    }
    centres.fill(0);
    for (let i = 0; i < n; i++) {
      const c = assignment[i]!;
      for (let d = 0; d < dim; d++) centres[c * dim + d]! += points[i * dim + d]! / counts[c]!;
    }
    if (!changed && it > 0) break;
  }
  return assignment;
}
