// The HRNetV2 segmentation head (official HRNet-Semantic-Segmentation names): the four branches
// brought to stride 4 (bilinear) and concatenated (15C channels), a 1×1 convolution with batch
// norm and ReLU, a 1×1 classifier, the scores upsampled bilinearly to the input.
import { nn, type Tensor } from '@geoseg/torch';
import { resizeTo } from '../../blocks.js';
import type { Encoder } from '../../encoders/encoder.js';
import { joinBranches, joinedChannels } from '../../encoders/hrnet.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';

export class HRNetV2 extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly last_layer: nn.Sequential;
  readonly classes: number;

  constructor(encoder: Encoder, { classes }: { classes: number }) {
    super();
    this.classes = classes;
    this.registerModule('encoder', encoder);
    const c = joinedChannels(encoder);
    this.registerModule('last_layer', new nn.Sequential(new nn.Conv2d(c, c, 1), new nn.BatchNorm2d(c), new nn.ReLU(true), new nn.Conv2d(c, classes, 1)));
  }

  protected run(x: Tensor): ModelOutputs {
    const joined = joinBranches(this.encoder.forward(x));
    return { out: resizeTo(this.last_layer.forward(joined), x.shape.slice(2)) };
  }
}
