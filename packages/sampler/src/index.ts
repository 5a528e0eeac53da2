export {
  NonFiniteError,
  resolveSettings,
  sample,
  sampleSync,
  type ConditionChange,
  type ConditionSchedule,
  type EncoderInit,
  type Frame,
  type InitFn,
  type ResolvedSettings,
  type SampleOptions,
  type SampleResult,
  type SamplerInit,
  type StepInfo,
  type StepTrace,
  type TermSize,
  type TermTrace,
} from './sampler.js';
export {
  DEFAULT_SETTINGS,
  NEURON_RESET,
  PRESETS,
  VARIANTS,
  learningRateAt,
  type LrSchedule,
  type ResetOptions,
  type SamplerSettings,
  type StepMode,
  type VariantName,
  type VariantPreset,
} from './settings.js';
export { priorTerm, type SamplerTerm, type TermState } from './terms.js';
export { composite, inpaintMask, MASK_KINDS, type InpaintOptions, type MaskKind } from './inpaint.js';
export { detach } from './detach.js';
