export {
  describeConditionContract,
  describeGeneratorContract,
  describePriorContract,
  type ConditionContractOptions,
  type GeneratorContractOptions,
  type PriorContractOptions,
} from './contracts.js';
export { rectangles, seededDense, tinyEncoder, type TinyEncoderOptions } from './fixtures.js';
