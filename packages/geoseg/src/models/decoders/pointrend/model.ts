// PointRend for semantic segmentation (Kirillov et al. 2020) after mmsegmentation's: geoseg's
// semantic FPN (simplecv's, where mmseg has its own FPN head) predicts coarse logits at stride 4;
// a point head (point-head.ts) re-predicts chosen points from the pyramid's stride-4 features and
// the coarse logits there. Training: the coarse
// logits (`out`, upsampled) and the point logits at uncertainty-biased random points (`points`,
// [N, classes, 1, P], at the coordinates in `point_coords`), each against the label. Inference:
// `subdivisionSteps` times, upsample the logits ×2 and replace the `subdivisionPoints` most
// uncertain ones by the point head's.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { ModelConfigError } from '../../../errors.js';
import { resizeTo } from '../../blocks.js';
import type { Encoder } from '../../encoders/encoder.js';
import type { ModelOutputs } from '../../model.js';
import { SemanticFPN, type PyramidHeadOptions } from '../fpn/model.js';
import { PointHead } from './point-head.js';
import { pointSample } from '../../point-sample.js';
import { trainingPoints, uncertainGridPoints, uncertainty, type TrainingPointOptions } from './point-sampling.js';

export interface PointRendOptions extends PyramidHeadOptions, TrainingPointOptions {
  pointChannels: number;
  pointLayers: number;
  subdivisionSteps: number;
  subdivisionPoints: number;
}

export class PointRend extends SemanticFPN {
  declare readonly point_head: PointHead;

  constructor(encoder: Encoder, readonly options: PointRendOptions) {
    super(encoder, options);
    if (options.classes < 2) throw new ModelConfigError(`pointrend: classes ${options.classes}: the points' uncertainty compares the two best classes (needs 2 or more)`);
    this.registerModule('point_head', new PointHead(options.pyramidChannels ?? 256, options.classes, options.pointChannels, options.pointLayers));
  }

  /** The point head's logits at points [N, P, 2], from the finest pyramid level and the coarse logits. */
  private pointLogits(fine: Tensor, coarse: Tensor, points: Tensor): Tensor {
    return this.point_head.forward(pointSample(fine, points), pointSample(coarse, points));
  }

  protected override run(x: Tensor): ModelOutputs {
    const { pyramid, logits: coarse } = this.strideFour(x);
    const fine = pyramid[0]!;
    for (const level of pyramid.slice(1)) level.dispose();
    // bilinear with align_corners false throughout, as the points are read (mmseg's resize)
    const toInput = (t: Tensor) => resizeTo(t, x.shape.slice(2));
    if (this.training) {
      const points = trainingPoints(coarse, this.options);
      return { out: toInput(coarse), points: this.pointLogits(fine, coarse, points).unsqueeze(2), point_coords: points };
    }
    let refined = coarse;
    for (let step = 0; step < this.options.subdivisionSteps; step++) {
      const next: Tensor = torch.tidy(() => {
        const up = nn.functional.interpolate(refined, { scaleFactor: 2, mode: 'bilinear', alignCorners: false });
        const [n, c, h, w] = up.shape as [number, number, number, number];
        const { index, points } = uncertainGridPoints(uncertainty(up), this.options.subdivisionPoints);
        const flat = up.reshape([n, c, h * w]);
        flat.scatter_(2, index.unsqueeze(1).expand([n, c, index.shape[1]!]), this.pointLogits(fine, coarse, points));
        return flat.reshape([n, c, h, w]);
      });
      if (refined !== coarse) refined.dispose();
      refined = next;
    }
    fine.dispose();
    if (refined !== coarse) coarse.dispose();
    return { out: toInput(refined) };
  }
}
