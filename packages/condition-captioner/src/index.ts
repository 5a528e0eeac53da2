export {
  type CaptionConditionArgs,
  captionCondition,
} from './caption-condition.js';
export {
  type CaptionerArgs,
  type CaptionerConfig,
  type CaptionInput,
  Captioner,
  type TeacherForcing,
  buildCaptioner,
  captionIds,
  captionLogProb,
  teacherForcing,
  tokenLogProbs,
} from './captioner.js';
export { type BeamSearchOptions, type CaptionResult, beamSearchCaption, greedyCaption } from './decode.js';
export { CAPTIONER_FORMAT, type CaptionerManifest, loadCaptioner, saveCaptioner } from './files.js';
export {
  type CaptionData,
  type CaptionerMetrics,
  type TrainCaptionerOptions,
  evaluateCaptioner,
  trainCaptioner,
} from './train-captioner.js';
export {
  BOS,
  EOS,
  PAD,
  SPECIAL_TOKENS,
  VOCABULARY_FORMAT,
  type Vocabulary,
  type VocabularyJSON,
  createVocabulary,
  editDistance,
  nearestWords,
  tokenizeCaption,
  vocabularyFromJSON,
} from './vocabulary.js';
