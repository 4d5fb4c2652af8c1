// Sliding-window prediction of a scene held in memory (evaluation scenes): windows in batches
// under inference mode, TTA undone per transform, class probabilities blended with per-window
// weights. (Scenes too large for memory go through the streaming predictor instead.)
// NaN (or infinite) pixels are nodata: the model sees them as the mean (0 after normalization),
// and their probabilities come out as NaN.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { planTiles } from '../data/tiling.js';
import { channelsLast, type SegmentationModel } from '../models/index.js';
import { blendWeights, type BlendMode } from './blend.js';
import { ttaTransforms } from './tta.js';

export interface WindowOptions {
  window: number;
  overlap: number;
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

/**
 * Class probabilities [classes, H, W] of a normalized scene image [bands, H, W] (model in eval
 * mode); NaN at nodata pixels (NaN or infinite in any band).
 */
export function predictScene(model: SegmentationModel, scene: Tensor, opts: WindowOptions): Tensor {
  const [, H, W] = scene.shape;
  const S = opts.window;
  const windows = planTiles(W, H, { tile: S, overlap: opts.overlap, minTile: 32 });
  return torch.inferenceMode(() => torch.tidy(() => {
    const nodata = scene.isfinite().logicalNot().any(0); // [H, W]
    const hasNodata = Boolean(nodata.any().item());
    const image = hasNodata ? scene.maskedFill(nodata.unsqueeze(0), 0) : scene;
    // Scenes smaller than a window are padded with zeros (the mean, after normalization).
    const padded = H < S || W < S ? torch.pad(image, [0, Math.max(0, S - W), 0, Math.max(0, S - H)]) : image;
    const Hp = Math.max(H, S), Wp = Math.max(W, S);
    const weight = blendWeights(S, opts.blend);
    let probs: Tensor | null = null;
    const total = torch.zeros([Hp, Wp]);
    for (let i = 0; i < windows.length; i += opts.batch) {
      torch.tidy(() => {
        const group = windows.slice(i, i + opts.batch);
        const x = torch.stack(group.map((w) => padded.narrow(1, w.y, S).narrow(2, w.x, S)));
        const p = predictWindows(model, x, opts.tta);
        probs ??= torch.keep(torch.zeros([p.shape[1], Hp, Wp]));
        group.forEach((w, j) => {
          probs!.narrow(1, w.y, S).narrow(2, w.x, S).addcmul_(p.select(0, j), weight);
          total.narrow(0, w.y, S).narrow(1, w.x, S).add_(weight);
        });
      });
    }
    const out = probs!.div_(total).narrow(1, 0, H).narrow(2, 0, W).contiguous();
    probs!.dispose(); // kept across the batches' scopes; `out` holds its own reference
    return hasNodata ? out.maskedFill_(nodata.unsqueeze(0), NaN) : out;
  }));
}
