/** Format tag of `checkpoint.json`. */
export const CHECKPOINT_FORMAT = 'ppgn-training-checkpoint';

/** The directory name of the checkpoint after `step` updates: `step-00001200`. */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}
