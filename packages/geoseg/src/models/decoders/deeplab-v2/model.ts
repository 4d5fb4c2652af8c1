// DeepLab v2 (Chen et al. 2017, "DeepLab: semantic image segmentation with deep convolutional
// nets, atrous convolution, and fully connected CRFs"): a ResNet (the paper's ResNet-101) at
// output stride 8, and atrous spatial pyramid pooling as that paper has it: four parallel 3×3
// convolutions straight to class scores, dilated by 6, 12, 18 and 24, their scores summed (no
// image pooling and no batch norm, which came with v3), upsampled bilinearly to the input.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { resizeTo } from '../../blocks.js';
import type { Encoder } from '../../encoders/encoder.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';

export interface DeepLabV2Options {
  classes: number;
  /** Dilations of the four branches (default 6, 12, 18, 24: ASPP-L). */
  rates?: number[];
}

export class DeepLabV2 extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly aspp: nn.ModuleList<nn.Conv2d>;
  readonly classes: number;

  constructor(encoder: Encoder, { classes, rates = [6, 12, 18, 24] }: DeepLabV2Options) {
    super();
    this.classes = classes;
    this.registerModule('encoder', encoder);
    this.registerModule('aspp', new nn.ModuleList(rates.map((r) => new nn.Conv2d(encoder.channels[4], classes, 3, { padding: r, dilation: r }))));
    // the paper's init of the new layers: N(0, 0.01), bias 0
    for (const c of this.aspp) {
      nn.init.normal_(c.weight, 0, 0.01);
      nn.init.zeros_(c.bias!);
    }
  }

  protected run(x: Tensor): ModelOutputs {
    const f = this.encoder.forward(x)[4];
    const scores = torch.tidy(() => [...this.aspp].map((c) => c.forward(f)).reduce((a, b) => a.add(b)));
    return { out: resizeTo(scores, x.shape.slice(2)) };
  }
}
