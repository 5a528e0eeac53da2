export { entrySpec, ZOO_ENTRIES, type EntrySpec } from './entries.js';
export { loadZoo, VARIANT_NAMES, type VariantParts, type ZooEntry, type ZooVariant } from './load.js';
export { entryDir, modelsRoot, workRoot } from './paths.js';
export { readCard, renderCard, trainEntry, type ModelCard, type PartReport, type Recipe, type Stage, type TrainEntryOptions } from './recipes/recipe.js';
export { mnistRecipe, MNIST_CODE_SIZE } from './recipes/mnist.js';
export { classifierAccuracy, randomShift, trainClassifier, type TrainClassifierOptions } from './train-classifier.js';
export { buildConditionClassifier, buildEvaluatorClassifier } from './architectures.js';
export { sampleClass, type SampleClassOptions } from './sample-class.js';
