// A batch of windows through the model: class probabilities by the architecture's own rule,
// under the TTA transforms (each undone before averaging), on the model's device; and the window
// options of prediction and evaluation.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { channelsLast } from '../models/index.js';
import type { WindowModel } from '../models/window-model.js';
import type { BlendMode } from './blend.js';
import { ttaTransforms } from './tta.js';
import type { CrfOptions } from './crf/dense-crf.js';

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
  /**
   * 'bf16': the model under CPU autocast in bfloat16 (convolutions and matrix products; on a CPU
   * with AVX512-BF16/AMX several times faster), its outputs brought back to float32 before the
   * probabilities, the blending and everything after. Default 'fp32'.
   */
  precision?: Precision;
  /**
   * Dense CRF post-processing of each window's probabilities over its image (infer/crf/), before
   * the windows are blended; null or absent: none.
   */
  crf?: CrfOptions | null;
}

export type Precision = 'fp32' | 'bf16';
export const PRECISIONS: readonly Precision[] = ['fp32', 'bf16'];

/** Class probabilities of a window batch [N, C, S, S] (the model's own rule), averaged over the TTA transforms. */
export function predictWindows(model: WindowModel, x: Tensor, tta: string | string[], precision: Precision = 'fp32'): Tensor {
  const transforms = ttaTransforms(tta);
  // Inputs go to the model's device (CUDA builds); probabilities come back to the CPU.
  const device = model.parameters()[0]?.device ?? 'cpu';
  return torch.tidy(() => {
    let sum: Tensor | null = null;
    const input = device === 'cpu' ? x : x.to(device as torch.Device);
    for (const t of transforms) {
      // channels-last batches: oneDNN convolutions skip their layout reorders (see useChannelsLast)
      // the architecture's own rule (softmax of `out` unless it says otherwise)
      const batch = model.channelsLastInputs === false ? t.apply(input) : channelsLast(t.apply(input));
      const y = t.undo(probabilities(model, batch, precision));
      const p = device === 'cpu' ? y : y.to('cpu');
      sum = sum ? sum.add_(p) : p.contiguous();
    }
    return transforms.length > 1 ? sum!.div_(transforms.length) : sum!;
  });
}

/** The model's class probabilities of a batch, in float32 whatever the compute precision. */
function probabilities(model: WindowModel, x: Tensor, precision: Precision): Tensor {
  if (precision === 'fp32') return model.predictProbabilities(x);
  return torch.tidy(() => {
    const outputs = torch.autocast({ device: 'cpu', dtype: 'bfloat16' }, () => model.forwardOutputs(x));
    const float = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.float()])) as typeof outputs;
    return model.probabilities(float);
  });
}
