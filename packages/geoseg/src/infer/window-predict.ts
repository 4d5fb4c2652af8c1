// A batch of windows through the model: class probabilities by the architecture's own rule,
// under the TTA transforms (each undone before averaging), on the model's device; and the window
// options of prediction and evaluation.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { channelsLast, type SegmentationModel } from '../models/index.js';
import type { BlendMode } from './blend.js';
import { ttaTransforms } from './tta.js';

export interface WindowOptions {
  window: number;
  overlap: number;
  /**
   * Windows at this fixed stride, the last one at the border, instead of spread evenly by
   * `overlap` (an evaluation protocol's layout, e.g. the FactSeg preset's 512).
   */
  stride?: number | null;
  batch: number;
  blend: BlendMode;
  tta: string | string[];
}

/** Class probabilities of a window batch [N, C, S, S] (the model's own rule), averaged over the TTA transforms. */
export function predictWindows(model: SegmentationModel, x: Tensor, tta: string | string[]): Tensor {
  const transforms = ttaTransforms(tta);
  // Inputs go to the model's device (CUDA builds); probabilities come back to the CPU.
  const device = model.parameters()[0]?.device ?? 'cpu';
  return torch.tidy(() => {
    let sum: Tensor | null = null;
    const input = device === 'cpu' ? x : x.to(device as torch.Device);
    for (const t of transforms) {
      // channels-last batches: oneDNN convolutions skip their layout reorders (see useChannelsLast)
      // the architecture's own rule (softmax of `out` unless it says otherwise)
      const y = t.undo(model.predictProbabilities(channelsLast(t.apply(input))));
      const p = device === 'cpu' ? y : y.to('cpu');
      sum = sum ? sum.add_(p) : p.contiguous();
    }
    return transforms.length > 1 ? sum!.div_(transforms.length) : sum!;
  });
}
