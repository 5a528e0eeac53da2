import { joinPath, loadJSON, loadModel, saveJSON, saveModel } from '@ppgn/core';
import { Captioner, type CaptionerConfig } from './captioner.js';
import { vocabularyFromJSON } from './vocabulary.js';

/** Format tag of `captioner.json`. */
export const CAPTIONER_FORMAT = 'ppgn-captioner';

/** What `captioner.json` holds. */
export interface CaptionerManifest {
  format: typeof CAPTIONER_FORMAT;
  version: 1;
  config: CaptionerConfig;
  /** Files of the parts, relative to the directory. */
  encoder: string;
  decoder: string;
  vocabulary: string;
}

/**
 * Saves a captioner into `dir`: `encoder/` and `decoder/` (tfjs layers models, written
 * atomically by @ppgn/core's `saveModel`), `vocabulary.json`, and last `captioner.json`
 * (the architecture and the names of those files).
 */
export async function saveCaptioner(captioner: Captioner, dir: string): Promise<void> {
  await saveModel(captioner.encoder, joinPath(dir, 'encoder'));
  await saveModel(captioner.decoder, joinPath(dir, 'decoder'));
  await saveJSON(joinPath(dir, 'vocabulary.json'), captioner.vocabulary.toJSON());
  const manifest: CaptionerManifest = {
    format: CAPTIONER_FORMAT,
    version: 1,
    config: captioner.config,
    encoder: 'encoder',
    decoder: 'decoder',
    vocabulary: 'vocabulary.json',
  };
  await saveJSON(joinPath(dir, 'captioner.json'), manifest);
}

/** Loads a captioner saved by `saveCaptioner` (a folder, or its URL in a browser); errors name the file at fault. */
export async function loadCaptioner(dir: string): Promise<Captioner> {
  const file = joinPath(dir, 'captioner.json');
  const manifest = await loadJSON<CaptionerManifest>(file);
  if (manifest?.format !== CAPTIONER_FORMAT || manifest.version !== 1) {
    throw new Error(`loadCaptioner: ${file} is not a ${CAPTIONER_FORMAT} v1 file`);
  }
  const vocabFile = joinPath(dir, manifest.vocabulary);
  const vocabulary = vocabularyFromJSON(await loadJSON(vocabFile), vocabFile);
  const encoder = await loadModel(joinPath(dir, manifest.encoder));
  const decoder = await loadModel(joinPath(dir, manifest.decoder));
  try {
    return new Captioner(encoder, decoder, vocabulary, manifest.config);
  } catch (err) {
    encoder.dispose();
    decoder.dispose();
    throw new Error(`loadCaptioner: ${dir}: ${(err as Error).message}`);
  }
}
