export { createEvaluator, type Evaluator, type EvaluatorOptions, type EvaluatorOutputs } from './evaluator.js';
export { columnMeans, covariance, matrix, multiply, sqrtPsd, symmetricEigen, type Matrix } from './linalg.js';
export {
  accuracy,
  frechetDistance,
  inceptionScore,
  meanPairwiseDistance,
  median,
  nearestNeighbours,
  type Neighbours,
} from './metrics.js';
export {
  createSampleEvaluation,
  neighbourSheetCells,
  type EvaluateOptions,
  type RealImages,
  type SampleMetrics,
} from './report.js';
