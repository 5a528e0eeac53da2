export {
  type ClassConditionArgs,
  type ClassObjective,
  classCondition,
  type WeightedClass,
} from './class-condition.js';
export { type EncoderAtOptions, encoderAt } from './encoder-at.js';
export {
  type ChannelConversion,
  type CropWindow,
  type InputAdapter,
  type InputAdapterArgs,
  inputAdapter,
  type Normalization,
  type ResizeMethod,
} from './input-adapter.js';
export { endsInSoftmax, type LogitsModel, type LogitsSource, logitsModel } from './logits.js';
export {
  type ClassifierModel,
  findLayer,
  type GraphModelLike,
  type ImageInput,
  type ImageInputOptions,
  imageInput,
  isGraphModel,
  isLayersModel,
  layerModel,
  type ModelFunction,
  type ModelLayer,
  modelInputShape,
  runModel,
} from './model-input.js';
