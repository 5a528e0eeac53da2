import { layerModel, type ModelLayer, findLayer } from '@ppgn/condition-classifier';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

/** A spatial position [row, col] in a conv layer's output. */
export type Position = [row: number, col: number];

/** Where a layer keeps its units. */
export interface LayerGeometry {
  readonly kind: 'dense' | 'conv';
  /** Number of units (dense) or channels (conv), when fixed. */
  readonly units: number;
  /** Conv only: output height and width (null when not fixed). */
  readonly spatial?: [number | null, number | null];
  /** Conv only: true for `channelsFirst` layers ([B, C, H, W]). */
  readonly channelsFirst?: boolean;
}

function shapeText(shape: ReadonlyArray<number | null>): string {
  return `[${shape.map((d) => d ?? '?').join(', ')}]`;
}

/** Reads the unit axis of a layer from its output shape (with the batch axis). */
export function layerGeometry(layer: ModelLayer, shape: ReadonlyArray<number | null>, who: string): LayerGeometry {
  if (shape.length === 2) {
    const units = shape[1];
    if (units === null || units === undefined) {
      throw new Error(`${who}: layer '${layer.name}' has output shape ${shapeText(shape)}; its number of units must be fixed`);
    }
    return { kind: 'dense', units };
  }
  if (shape.length === 4) {
    const channelsFirst = (layer.getConfig() as { dataFormat?: string }).dataFormat === 'channelsFirst';
    const units = channelsFirst ? shape[1] : shape[3];
    if (units === null || units === undefined) {
      throw new Error(`${who}: layer '${layer.name}' has output shape ${shapeText(shape)}; its number of channels must be fixed`);
    }
    const spatial: [number | null, number | null] = channelsFirst
      ? [shape[2] ?? null, shape[3] ?? null]
      : [shape[1] ?? null, shape[2] ?? null];
    return { kind: 'conv', units, spatial, channelsFirst };
  }
  throw new Error(
    `${who}: layer '${layer.name}' has output shape ${shapeText(shape)}, which has no channels axis; pick a dense layer ([batch, units]) or a 2-D conv layer ([batch, height, width, channels])`,
  );
}

/** Checks `unit` against the layer's units; the error names the range. */
export function checkUnit(unit: number, geometry: LayerGeometry, layerName: string, who: string): void {
  if (!Number.isInteger(unit) || unit < 0 || unit >= geometry.units) {
    const what = geometry.kind === 'conv' ? 'channels' : 'units';
    throw new Error(
      `${who}: unit ${unit} is out of range; layer '${layerName}' has ${geometry.units} ${what}, 0..${geometry.units - 1}`,
    );
  }
}

/** The default position: the centre, Math.floor(size / 2) on each axis. */
export function centre(height: number, width: number): Position {
  return [Math.floor(height / 2), Math.floor(width / 2)];
}

/** Checks `position` against the spatial size; the error names the size. */
export function checkPosition(position: Position, height: number, width: number, layerName: string, who: string): void {
  const [row, col] = position;
  const ok = (v: number, n: number) => Number.isInteger(v) && v >= 0 && v < n;
  if (!Array.isArray(position) || position.length !== 2 || !ok(row, height) || !ok(col, width)) {
    throw new Error(
      `${who}: position ${JSON.stringify(position)} is outside layer '${layerName}', whose output is ${height}x${width} (rows 0..${height - 1}, columns 0..${width - 1})`,
    );
  }
}

/** A sub-model to one layer with its unit geometry. */
export interface LayerReader {
  readonly layer: ModelLayer;
  readonly model: LayersModel;
  readonly geometry: LayerGeometry;
}

/** Builds the sub-model up to `layerName` (sharing weights) and reads its geometry. */
export function layerReader(model: LayersModel, layerName: string, who: string): LayerReader {
  const layer = findLayer(model, layerName, who);
  const sub = layerModel(model, layerName, who);
  const shape = sub.outputs[0]!.shape;
  return { layer, model: sub, geometry: layerGeometry(layer, shape, who) };
}

/**
 * The values of every unit at one position: [B, units]. For a dense layer, the activations
 * themselves; for a conv layer, the channel vector at (row, col).
 */
export function unitsAt(activations: Tensor, geometry: LayerGeometry, position: Position | undefined): Tensor2D {
  if (geometry.kind === 'dense') return activations as Tensor2D;
  const [row, col] = position!;
  const b = activations.shape[0]!;
  const begin = geometry.channelsFirst ? [0, 0, row, col] : [0, row, col, 0];
  const size = geometry.channelsFirst ? [-1, -1, 1, 1] : [-1, 1, 1, -1];
  return tf.reshape(tf.slice(activations, begin, size), [b, geometry.units]) as Tensor2D;
}

/** Spatial size [H, W] of conv activations. */
export function spatialSize(activations: Tensor, geometry: LayerGeometry): [number, number] {
  const s = activations.shape;
  return geometry.channelsFirst ? [s[2]!, s[3]!] : [s[1]!, s[2]!];
}
