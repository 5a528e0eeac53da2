export { buildHDae, daePrior, hDaeHiddenUnits, trainHDae, type DaePriorOptions, type HDaeArgs, type TrainHDaeOptions } from './h-dae.js';
export {
  buildXDae,
  pixelDaePrior,
  trainXDae,
  type PixelDaePriorOptions,
  type TrainXDaeOptions,
  type XDaeArgs,
} from './x-dae.js';
export { jointPrior, type JointPriorOptions } from './joint-prior.js';
export { gaussianPrior, l2DecayPrior, type GaussianPriorOptions, type L2DecayPriorOptions } from './simple-priors.js';
export { denoisingError, trainDenoiser, type DenoiserTrainingOptions } from './train-denoiser.js';
