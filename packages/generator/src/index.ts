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
