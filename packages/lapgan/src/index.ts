export { downsample, resize, resizeNearest, type Size, upsample } from './resize.js';
export {
  checkSizes,
  collapsePyramid,
  gaussianPyramid,
  type LaplacianPyramid,
  laplacianPyramid,
  type TrainingPair,
  trainingPair,
} from './pyramid.js';
export {
  type BaseLevelOptions,
  type BaseLevelSpec,
  checkChain,
  DEFAULT_BASE,
  DEFAULT_REFINE,
  defaultPyramidConfig,
  describeSpec,
  LAPGAN_CIFAR10_DEMO,
  type LevelSpec,
  levelSpecs,
  type PyramidConfig,
  type RefineLevelOptions,
  type RefineLevelSpec,
  validateLevelSpec,
} from './spec.js';
export {
  buildDiscriminator,
  buildGenerator,
  discriminate,
  generateBase,
  generateResidual,
  type LevelNets,
  netClasses,
} from './networks.js';
export {
  assemblePyramid,
  createLevel,
  type CreateLevelOptions,
  createPyramid,
  LapganPyramid,
  type LevelInfo,
  levelSeed,
  PyramidLevel,
  type PyramidOptions,
} from './level.js';
export {
  decodeLatent,
  type DecodeOptions,
  type LatentLayout,
  type LatentPart,
  latentLayout,
  oneHot,
  type PyramidSamples,
  samplePyramid,
  type SamplePyramidOptions,
  sampleLatent,
} from './sample.js';
export { type PyramidGenerator, pyramidGenerator, type PyramidGeneratorOptions } from './generator.js';
export {
  type LoadOptions,
  loadLevel,
  loadPyramid,
  MANIFEST_FILE,
  type ManifestLevel,
  PYRAMID_FORMAT,
  type PyramidManifest,
  readPyramidManifest,
  type SaveOptions,
  saveLevel,
  savePyramid,
} from './files.js';
export { BatchOrder, type ImageSet, type TrainingImages, toImageSet } from './data.js';
export { createOptimizer, MomentumSgd, type OptimizerOptions, type ResolvedOptimizer, resolveOptimizer } from './optimizer.js';
export {
  type GatingOptions,
  LevelTrainer,
  levelTrainingSetup,
  type StepStats,
  type TrainerSettings,
  type TrainingHistory,
  trainLevel,
  type TrainLevelOptions,
  type TrainLevelResult,
  type UpdateMode,
} from './train.js';
export {
  type SampleFiles,
  sampleToFiles,
  type SampleToFilesOptions,
  type TrainedLevelSummary,
  trainPyramid,
  type TrainPyramidOptions,
  type TrainPyramidResult,
} from './pipeline.js';
