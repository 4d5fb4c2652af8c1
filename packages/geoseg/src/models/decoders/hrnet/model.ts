// The HRNetV2 segmentation head (official HRNet-Semantic-Segmentation names): the four branches
// brought to stride 4 (bilinear) and concatenated (15C channels), a 1×1 convolution with batch
// norm and ReLU, a 1×1 classifier, the scores upsampled bilinearly to the input.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { resizeTo } from '../../blocks.js';
import type { Encoder } from '../../encoders/encoder.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';

export class HRNetV2 extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly last_layer: nn.Sequential;
  readonly classes: number;

  constructor(encoder: Encoder, { classes }: { classes: number }) {
    super();
    this.classes = classes;
    this.registerModule('encoder', encoder);
    const c = encoder.channels.slice(1).reduce((a, b) => a + b, 0);
    this.registerModule('last_layer', new nn.Sequential(new nn.Conv2d(c, c, 1), new nn.BatchNorm2d(c), new nn.ReLU(true), new nn.Conv2d(c, classes, 1)));
  }

  protected run(x: Tensor): ModelOutputs {
    const [, ...branches] = this.encoder.forward(x);
    const size = branches[0].shape.slice(2);
    const joined = torch.cat(branches.map((b) => resizeTo(b, size)), 1);
    return { out: resizeTo(this.last_layer.forward(joined), x.shape.slice(2)) };
  }
}
