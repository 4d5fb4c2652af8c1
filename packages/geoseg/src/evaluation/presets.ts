// Evaluation protocols by name (geoseg eval --preset): the window layout, blending and scores a
// published reproduction used, so its numbers can be compared with ours.
import type { BlendMode } from '../infer/blend.js';

export interface EvalPreset {
  description: string;
  window: number;
  /** Fixed stride (the strided layout), or null for windows spread by overlap. */
  stride: number | null;
  blend: BlendMode;
  tta: string;
  /** The mIoU over every class but the background is reported (and a background class is required). */
  foreground: boolean;
}

export const EVAL_PRESETS: Record<string, EvalPreset> = {
  // FactSeg's tools/isaid_eval.py: EVER/simplecv's sliding_window (896 at stride 512, the last
  // window at the border, a smaller side for a smaller image) padded to a multiple of 32, the
  // windows' probabilities averaged, one confusion matrix over the set, mIoU and mIoU without
  // the background (class 0 on iSAID)
  factseg: {
    description: 'FactSeg (iSAID): windows of 896 at stride 512, padded to a multiple of 32, probabilities averaged; mIoU and foreground mIoU',
    window: 896, stride: 512, blend: 'uniform', tta: 'none', foreground: true,
  },
};

/** The background class of a dataset: the one named `name`, or else the one named "background" (any case). */
export function backgroundClass(classes: { name: string }[], name: string | null): number | null {
  const wanted = (name ?? 'background').toLowerCase();
  const i = classes.findIndex((c) => c.name.toLowerCase() === wanted);
  return i >= 0 ? i : null;
}
