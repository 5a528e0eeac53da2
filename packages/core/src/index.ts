export type { Condition, Encoder, Generator, ImageShape, Part, Prior } from './interfaces.js';
export { negateCondition, scaleCondition, sumConditions, type WeightedCondition } from './conditions.js';
export { assertFinite, assertImageBatch, shapeToString } from './shapes.js';
export { createRng, Rng } from './rng.js';
export { createProgress, type Progress, type ProgressOptions } from './progress.js';
