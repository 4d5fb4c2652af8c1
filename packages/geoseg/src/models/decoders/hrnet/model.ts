// The HRNetV2 segmentation head (official HRNet-Semantic-Segmentation names): the four branches
// brought to stride 4 (bilinear) and concatenated (15C channels), a 1×1 convolution with batch
// norm and ReLU, a 1×1 classifier, the scores upsampled bilinearly to the input. Option `pam`: the
// SegHZ report's memory-saving hourglass, position attention at 1/8 between a stride-2 conv and a
// transposed conv, added to the joined 1/4 features (attention at 1/4 itself would take 16× the
// memory of 1/8: its HW × HW map grows with the square of the pixels).
import { nn, type Tensor } from '@geoseg/torch';
import { PositionAttention } from '../../attention.js';
import { resizeTo } from '../../blocks.js';
import type { Encoder } from '../../encoders/encoder.js';
import { joinBranches, joinedChannels } from '../../encoders/hrnet.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';

export class HRNetV2 extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly pam_down?: nn.Sequential;
  declare readonly pam?: PositionAttention;
  declare readonly pam_up?: nn.Sequential;
  declare readonly last_layer: nn.Sequential;
  readonly classes: number;

  constructor(encoder: Encoder, { classes, pam = false }: { classes: number; pam?: boolean }) {
    super();
    this.classes = classes;
    this.registerModule('encoder', encoder);
    const c = joinedChannels(encoder);
    if (pam) {
      this.registerModule('pam_down', new nn.Sequential(new nn.Conv2d(c, c, 3, { stride: 2, padding: 1, bias: false }), new nn.BatchNorm2d(c), new nn.ReLU(true)));
      this.registerModule('pam', new PositionAttention(c));
      this.registerModule('pam_up', new nn.Sequential(new nn.ConvTranspose2d(c, c, 4, { stride: 2, padding: 1, bias: false }), new nn.BatchNorm2d(c), new nn.ReLU(true)));
    }
    this.registerModule('last_layer', new nn.Sequential(new nn.Conv2d(c, c, 1), new nn.BatchNorm2d(c), new nn.ReLU(true), new nn.Conv2d(c, classes, 1)));
  }

  protected run(x: Tensor): ModelOutputs {
    let joined = joinBranches(this.encoder.forward(x));
    if (this.pam_down && this.pam && this.pam_up) {
      const attended = this.pam_up.forward(this.pam.forward(this.pam_down.forward(joined)));
      joined = joined.add(resizeTo(attended, joined.shape.slice(2)));
    }
    return { out: resizeTo(this.last_layer.forward(joined), x.shape.slice(2)) };
  }
}
