export {
  buildDiscriminator,
  buildGenerator,
  GENERATOR_IMAGE_SIZES,
  generatorStages,
  type DiscriminatorArgs,
  type GeneratorArgs,
} from './builders.js';
export { DgnGenerator, dgnGenerator, type DgnGeneratorOptions } from './dgn-generator.js';
export {
  trainGenerator,
  type GeneratorLosses,
  type GeneratorNoise,
  type TrainGeneratorOptions,
  type TrainGeneratorResult,
} from './train-generator.js';
export { Adam, type AdamOptions } from './training/adam.js';
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
  NonFiniteLossError,
  runTraining,
  stepRng,
  type StepLosses,
  type StepReport,
  type TrainingLoop,
  type TrainingResult,
  type TrainingRunOptions,
} from './training/loop.js';
