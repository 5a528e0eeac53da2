import { createSampleEvaluation, type SampleMetrics } from '@ppgn/eval';
import type { ZooEntry } from '@ppgn/zoo';
import * as tf from '@tensorflow/tfjs';

type Evaluation = ReturnType<typeof createSampleEvaluation>;
const evaluations = new Map<string, Evaluation>();

/**
 * The sample evaluation of a zoo entry: its evaluator against the held-out images and the
 * training set (loaded once per process; reference images stay in memory).
 */
export async function entryEvaluation(zoo: ZooEntry): Promise<Evaluation> {
  const cached = evaluations.get(zoo.name);
  if (cached) return cached;
  const { train, test } = await zoo.spec.recipe.data();
  const evaluation = createSampleEvaluation({
    evaluator: zoo.evaluator(),
    test: { images: test.images({ start: 0, end: test.size }), labels: test.labels },
    train: train.images({ start: 0, end: train.size }),
  });
  evaluations.set(zoo.name, evaluation);
  return evaluation;
}

/** Metrics of generated images meant to show `intended` classes. */
export async function evaluateOnEntry(zoo: ZooEntry, images: tf.Tensor4D, intended: number[]): Promise<SampleMetrics> {
  return (await entryEvaluation(zoo)).evaluate(images, intended);
}
