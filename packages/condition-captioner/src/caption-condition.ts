import type { Condition, ImageShape } from '@ppgn/core';
import type { Tensor1D, Tensor4D } from '@tensorflow/tfjs-core';
import { type CaptionInput, type Captioner, captionIds, captionLogProb } from './captioner.js';

/** Arguments of `captionCondition`. */
export interface CaptionConditionArgs {
  captioner: Captioner;
  /** The caption to condition on, as text or word ids. */
  caption: CaptionInput;
}

/**
 * The PPGN caption condition: log p(caption | x) under a captioner, the sum over the
 * caption's words and `<eos>` of log p(w_t | w_<t, x) (teacher forcing), for each image of
 * a batch. Differentiable with respect to the image. The condition does not own the
 * captioner: `dispose()` leaves it to the caller.
 */
export function captionCondition(args: CaptionConditionArgs): Condition & { readonly caption: string } {
  const { captioner } = args;
  const ids = captionIds(captioner, args.caption, 'captionCondition');
  const caption = captioner.vocabulary.decode(ids);
  const imageShape: ImageShape = [...captioner.imageShape];
  return {
    id: `caption(${JSON.stringify(caption)})`,
    caption,
    imageShape,
    describe: () => `log p(${JSON.stringify(caption)} | x) under ${captioner.describe()}`,
    logProb: (x: Tensor4D): Tensor1D => captionLogProb(captioner, x, ids),
    dispose() {},
  };
}
