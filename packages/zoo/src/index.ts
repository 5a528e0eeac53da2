export { entrySpec, ZOO_ENTRIES, type EntrySpec } from './entries.js';
export { loadZoo, VARIANT_NAMES, type VariantParts, type ZooEntry, type ZooVariant } from './load.js';
export { entryDir, modelsRoot, workRoot } from './paths.js';
export { readCard, renderCard, trainEntry, type ModelCard, type PartReport, type Recipe, type Stage, type TrainEntryOptions } from './recipes/recipe.js';
export { mnistRecipe, MNIST_CODE_SIZE } from './recipes/mnist.js';
export { classifierAccuracy, randomShift, trainClassifier, type TrainClassifierOptions } from './train-classifier.js';
export { buildConditionClassifier, buildEvaluatorClassifier } from './architectures.js';
export { sampleClass, type SampleClassOptions } from './sample-class.js';
export {
  baselineConfig,
  cropPadding,
  LAPGAN_PARTS,
  LAPGAN_RECIPES,
  type LapganPart,
  type LapganRecipe,
  lapganRecipe,
  paddedImages,
  pyramidParams,
} from './lapgan/recipes.js';
export { lapganPartDir, lapganPartExists, loadLapganPart, trainLapgan, type TrainLapganOptions } from './lapgan/train.js';
export {
  everyClass,
  type LapganEvaluation,
  lapganEvaluation,
  sampleClasses,
  scoreSamples,
  writeLevelsGrid,
  writeNeighbourSheets,
  writeSampleGrid,
} from './lapgan/evaluate.js';
export type { CaptionParts } from './load.js';
export { CAPTION_STARTS, CAPTION_VARIANTS, type CaptionEvaluation, type CaptionStart, type CaptionVariant, captionParts, captionSampling, captionVariant, captionVariantParts, evaluateCaption, sampleCaption, type SampleCaptionOptions } from './sample-caption.js';
export {
  ATTRIBUTE_CLASSES,
  ATTRIBUTE_OUTPUTS,
  attributeLoss,
  attributeTargets,
  buildAttributeEvaluator,
  decodeAttributes,
  type PredictedObject,
  predictObjects,
  trainAttributeModel,
  type TrainAttributeModelOptions,
} from './shapes-attributes.js';
export {
  agreementRates,
  type AttributeModelMetrics,
  type CaptionAgreement,
  type CaptionObject,
  captionAgreement,
  formatShapesCaption,
  type ParsedCaption,
  parseShapesCaption,
  relationBetween,
  scoreAttributePredictions,
} from './shapes-captions.js';
export { shapesScenes } from './recipes/shapes.js';
