/**
 * model-files.ts in a browser bundle: models load from URLs and save through tfjs's own
 * handlers (IndexedDB, local storage, downloads, HTTP); the directory functions explain
 * that they need Node.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { float32ToFloat16Bits } from './float16.js';
import type { LoadedWeights, LoadModelOptions, SavedFiles, SaveModelOptions } from './model-files.js';
import { nodeOnly } from './node-only.js';

export { float32ToFloat16Bits };

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Where `model.json` is: a tf.io URL as given, else `<source>/model.json` unless it names a .json file. */
function modelUrl(source: string): string {
  if (/\.json$/i.test(source) || (SCHEME.test(source) && !/^https?:/i.test(source))) return source;
  return `${source.replace(/\/+$/, '')}/model.json`;
}

/**
 * Loads a LayersModel from a URL: the model's folder or its `model.json` (http(s) or
 * relative), or a tf.io URL such as `indexeddb://name`. Fails naming the URL when it cannot
 * load or when a weight is NaN or infinite.
 */
export async function loadModel(source: string, options: LoadModelOptions = {}): Promise<LayersModel> {
  const url = modelUrl(source);
  let model: LayersModel;
  try {
    model = await tfl.loadLayersModel(url, { strict: options.strict ?? true });
  } catch (err) {
    throw new Error(`loadModel: ${url}: ${(err as Error).message}`);
  }
  const bad = model.weights.find((w) => tf.tidy(() => !tf.all(tf.isFinite(w.read())).dataSync()[0]));
  if (bad) {
    model.dispose();
    throw new Error(`loadModel: ${url}: weight ${bad.name} has NaN or infinite values`);
  }
  return model;
}

/**
 * Saves through a tfjs save handler: `target` is a tf.io URL (`indexeddb://name`,
 * `localstorage://name`, `downloads://name`, or an http(s) endpoint). `meta` joins the
 * model's user-defined metadata, as in Node.
 */
export async function saveModel(model: LayersModel, target: string, meta?: object, options: SaveModelOptions = {}): Promise<SavedFiles> {
  const who = 'saveModel';
  const handler = SCHEME.test(target) ? tf.io.getSaveHandlers(target)[0] : undefined;
  if (!handler?.save) {
    throw nodeOnly(`${who}('${target}')`, "save to a tf.io URL such as 'indexeddb://name' or 'downloads://name'");
  }
  if (options.quantize) throw new Error(`${who}: float16 files are written by saveModel in Node; save float32 in a browser`);
  const save = handler.save.bind(handler);
  const result = await model.save(
    tf.io.withSaveHandler((artifacts) =>
      save(meta === undefined ? artifacts : { ...artifacts, userDefinedMetadata: { ...(artifacts.userDefinedMetadata ?? {}), ...meta } }),
    ),
  );
  return { manifest: target, weights: target, weightBytes: result.modelArtifactsInfo.weightDataBytes ?? 0 };
}

const files = 'keep data in memory, or load models with loadModel(url) and save them with saveModel(model, "indexeddb://name")';

export async function syncDir(_dir: string): Promise<void> {
  throw nodeOnly('syncDir', files);
}
export async function writeFileAtomic(file: string, _data: string | Uint8Array): Promise<void> {
  throw nodeOnly(`writeFileAtomic('${file}')`, files);
}
export async function saveJSON(file: string, _value: unknown): Promise<void> {
  throw nodeOnly(`saveJSON('${file}')`, files);
}
/** Fetches and parses a JSON file by URL; errors name the URL. */
export async function loadJSON<T = unknown>(url: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new Error(`loadJSON: cannot fetch ${url}: ${(err as Error).message}`);
  }
  if (!response.ok) throw new Error(`loadJSON: ${url}: HTTP ${response.status}${response.status === 404 ? ' (no such file)' : ''}`);
  try {
    return (await response.json()) as T;
  } catch (err) {
    throw new Error(`loadJSON: ${url} is not valid JSON: ${(err as Error).message}`);
  }
}
export async function saveWeights(dir: string, _tensors: Record<string, tf.Tensor>, _options?: object): Promise<SavedFiles> {
  throw nodeOnly(`saveWeights('${dir}')`, files);
}
export async function loadWeights(dir: string, _options?: object): Promise<LoadedWeights> {
  throw nodeOnly(`loadWeights('${dir}')`, files);
}
