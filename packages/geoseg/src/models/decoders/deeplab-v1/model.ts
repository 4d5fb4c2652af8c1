// DeepLab v1 (Chen et al. 2015, "Semantic image segmentation with deep convolutional nets and
// fully connected CRFs"): VGG-16 at output stride 8 (the last two pools at stride 1, conv5
// dilated by 2), then the fully connected layers as convolutions: fc6 a 3×3 convolution of 1024
// channels dilated by 4 (×4 after the two removed strides, as the paper describes; its LargeFOV
// variant used 12), fc7 1×1 of 1024, each with ReLU and dropout, fc8 the class scores, upsampled
// bilinearly to the input. (The paper's fully connected CRF is a post-processing step, not here.)
import { nn, type Tensor } from '@geoseg/torch';
import { resizeTo } from '../../blocks.js';
import type { Encoder } from '../../encoders/encoder.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';

export interface DeepLabV1Options {
  classes: number;
  /** Dilation of fc6 (default 4; DeepLab-LargeFOV: 12). */
  fc6Dilation?: number;
  /** Channels of fc6 and fc7 (default 1024, the LargeFOV size; the original fc6 had 4096). */
  fcChannels?: number;
}

export class DeepLabV1 extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly fc6: nn.Conv2d;
  declare readonly fc7: nn.Conv2d;
  declare readonly fc8: nn.Conv2d;
  declare readonly drop6: nn.Dropout;
  declare readonly drop7: nn.Dropout;
  readonly classes: number;

  constructor(encoder: Encoder, { classes, fc6Dilation = 4, fcChannels = 1024 }: DeepLabV1Options) {
    super();
    this.classes = classes;
    this.registerModule('encoder', encoder);
    this.registerModule('fc6', new nn.Conv2d(encoder.channels[4], fcChannels, 3, { padding: fc6Dilation, dilation: fc6Dilation }));
    this.registerModule('drop6', new nn.Dropout(0.5));
    this.registerModule('fc7', new nn.Conv2d(fcChannels, fcChannels, 1));
    this.registerModule('drop7', new nn.Dropout(0.5));
    this.registerModule('fc8', new nn.Conv2d(fcChannels, classes, 1));
    // the paper's init of the new classifier: N(0, 0.01), bias 0
    nn.init.normal_(this.fc8.weight, 0, 0.01);
    nn.init.zeros_(this.fc8.bias!);
  }

  protected run(x: Tensor): ModelOutputs {
    const f = this.encoder.forward(x)[4];
    const y = this.drop7.forward(this.fc7.forward(this.drop6.forward(this.fc6.forward(f).relu())).relu());
    return { out: resizeTo(this.fc8.forward(y), x.shape.slice(2)) };
  }
}
