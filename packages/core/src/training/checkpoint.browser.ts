/** checkpoint.ts in a browser bundle: training runs, but checkpoints on disk need Node. */
import type { Tensor } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { nodeOnly } from '../node-only.js';
import type { CheckpointContent, CheckpointMeta, CheckpointRef } from './checkpoint.js';

export { CHECKPOINT_FORMAT, checkpointName } from './checkpoint-names.js';

const instead = 'train without checkpointDir (keep the models in memory, or save them with saveModel to IndexedDB)';

export async function listCheckpoints(dir: string): Promise<CheckpointRef[]> {
  throw nodeOnly(`listCheckpoints('${dir}')`, instead);
}
export async function latestCheckpoint(dir: string): Promise<CheckpointRef | undefined> {
  throw nodeOnly(`checkpoints in '${dir}'`, instead);
}
export async function writeCheckpoint(dir: string, _content: CheckpointContent, _keep?: number): Promise<string> {
  throw nodeOnly(`writeCheckpoint('${dir}')`, instead);
}
export async function readCheckpointMeta(ckpt: string): Promise<CheckpointMeta> {
  throw nodeOnly(`readCheckpointMeta('${ckpt}')`, instead);
}
export async function restoreModel(_model: LayersModel, ckpt: string, _name: string, _who: string): Promise<void> {
  throw nodeOnly(`restoreModel('${ckpt}')`, instead);
}
export async function loadOptimizerState(ckpt: string): Promise<Record<string, Tensor>> {
  throw nodeOnly(`loadOptimizerState('${ckpt}')`, instead);
}
