export type { Condition, Encoder, Generator, ImageShape, Part, Prior } from './interfaces.js';
export { negateCondition, scaleCondition, sumConditions, type WeightedCondition } from './conditions.js';
export { assertFinite, assertImageBatch, shapeToString } from './shapes.js';
export { createRng, Rng } from './rng.js';
export { createProgress, type Progress, type ProgressOptions } from './progress.js';
export {
  loadJSON,
  loadModel,
  loadWeights,
  saveJSON,
  float32ToFloat16Bits,
  saveModel,
  saveWeights,
  writeFileAtomic,
  type LoadedWeights,
  type LoadModelOptions,
  type LoadWeightsOptions,
  type SavedFiles,
  type SaveModelOptions,
  type SaveWeightsOptions,
} from './model-files.js';
export {
  fromImageBytes,
  gridLayout,
  imageGrid,
  toImageBytes,
  type Color,
  type GridLayout,
  type GridOptions,
  type ImageBytes,
  type ReadImageOptions,
} from './images.js';
export {
  decodeImage,
  decodeJpegBytes,
  decodePng,
  decodePngBytes,
  encodeJpeg,
  encodePng,
  encodePngBytes,
  readImage,
  readPng,
  writeGrid,
  writeImage,
  writePng,
} from './image-files.js';
export {
  decodeGif,
  encodeGif,
  writeGif,
  type DecodedGif,
  type DecodedGifFrame,
  type GifFrame,
  type GifOptions,
} from './gif.js';
export { drawText, GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, textWidth, type RawImage } from './bitmap-font.js';

// The resumable training loop shared by every trainer (G, DAEs, classifiers, captioner).
export { Adam, type AdamOptions } from './training/adam.js';
export type { TrainingOptimizer } from './training/optimizer.js';
export { batchReader, isTensor, type Batch, type BatchReader, type TrainingData } from './training/data.js';
export {
  CHECKPOINT_FORMAT,
  checkpointName,
  latestCheckpoint,
  listCheckpoints,
  readCheckpointMeta,
  restoreModel,
  type CheckpointMeta,
  type CheckpointRef,
} from './training/checkpoint.js';
export {
  checkFinite,
  minimizeStep,
  NonFiniteLossError,
  runTraining,
  stepRng,
  type ReportedLoss,
  type StepLosses,
  type StepObjective,
  type StepReport,
  type TrainingLoop,
  type TrainingResult,
  type TrainingRunOptions,
} from './training/loop.js';
export { withLazyLayerGradients } from './lazy-gradients.js';
export { isAbsolutePath, joinPath, parentPath } from './paths.js';
