import { createSampleEvaluation, type SampleMetrics } from '@ppgn/eval';
import type { ZooEntry } from '@ppgn/zoo';
import type * as tf from '@tensorflow/tfjs';

type Evaluation = ReturnType<typeof createSampleEvaluation>;
/** Keyed by the loaded entry: its evaluator model is freed with it, so nothing outlives it. */
const evaluations = new WeakMap<ZooEntry, Evaluation>();

/**
 * The sample evaluation of a loaded zoo entry: its evaluator against the held-out images
 * and the training set (computed once per loaded entry).
 */
export async function entryEvaluation(zoo: ZooEntry): Promise<Evaluation> {
  const cached = evaluations.get(zoo);
  if (cached) return cached;
  const { train, test } = await zoo.spec.recipe.data();
  const evaluation = createSampleEvaluation({
    evaluator: zoo.evaluator(),
    test: { images: test.images({ start: 0, end: test.size }), labels: test.labels },
    train: train.images({ start: 0, end: train.size }),
  });
  evaluations.set(zoo, evaluation);
  return evaluation;
}

/** Metrics of generated images meant to show `intended` classes. */
export async function evaluateOnEntry(zoo: ZooEntry, images: tf.Tensor4D, intended: number[]): Promise<SampleMetrics> {
  return (await entryEvaluation(zoo)).evaluate(images, intended);
}
