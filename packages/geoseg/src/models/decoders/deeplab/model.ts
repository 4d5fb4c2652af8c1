// DeepLabV3 (Chen et al. 2017) with torchvision's module names (`backbone.*`, `classifier.*`), so
// torchvision's deeplabv3_resnet50 state dict loads strictly; and DeepLabV3+ (Chen et al. 2018):
// ASPP at output stride 16, a decoder joining the stride-4 features, optional separable convs.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { convBnRelu, forwardPooled, resizeTo } from '../../blocks.js';
import type { Encoder } from '../../encoders/encoder.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';

/** Image-level features: global average, 1x1 conv, broadcast back to the map's size. */
class ASPPPooling extends nn.Sequential {
  constructor(inC: number, outC: number) {
    super(new nn.AdaptiveAvgPool2d(1), new nn.Conv2d(inC, outC, 1, { bias: false }), new nn.BatchNorm2d(outC), new nn.ReLU());
  }

  override forward(x: Tensor): Tensor {
    return resizeTo(forwardPooled(this, x), x.shape.slice(2));
  }
}

/** Atrous spatial pyramid pooling: a 1x1 branch, three dilated 3x3 branches, image pooling. */
export class ASPP extends nn.Module {
  declare readonly convs: nn.ModuleList;
  declare readonly project: nn.Sequential;

  constructor(inC: number, rates: [number, number, number], outC = 256, { separable = false } = {}) {
    super();
    this.registerModule('convs', new nn.ModuleList([
      convBnRelu(inC, outC, 1),
      ...rates.map((r) => convBnRelu(inC, outC, 3, { dilation: r, separable })),
      new ASPPPooling(inC, outC),
    ]));
    this.registerModule('project', new nn.Sequential(
      new nn.Conv2d(5 * outC, outC, 1, { bias: false }), new nn.BatchNorm2d(outC), new nn.ReLU(), new nn.Dropout(0.5)));
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.project.forward(torch.cat([...this.convs].map((m) => m.forward(x)), 1)));
  }
}

export interface DeepLabOptions {
  classes: number;
  /** Dilation rates of the ASPP branches (default 12, 24, 36 as torchvision). */
  rates?: [number, number, number];
  /** Depthwise-separable ASPP and decoder convolutions (DeepLabV3+ only). */
  separable?: boolean;
}

export class DeepLabV3 extends SegmentationModel {
  declare readonly backbone: Encoder;
  declare readonly classifier: nn.Sequential;
  readonly classes: number;

  constructor(backbone: Encoder, { classes, rates = [12, 24, 36] }: DeepLabOptions) {
    super();
    this.classes = classes;
    this.registerModule('backbone', backbone);
    const c = backbone.channels[4];
    this.registerModule('classifier', new nn.Sequential(
      new ASPP(c, rates), new nn.Conv2d(256, 256, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(256), new nn.ReLU(),
      new nn.Conv2d(256, classes, 1)));
  }

  get encoder(): Encoder {
    return this.backbone;
  }

  protected run(x: Tensor): ModelOutputs {
    const features = this.backbone.forward(x)[4];
    return { out: resizeTo(this.classifier.forward(features), x.shape.slice(2)) };
  }
}

export class DeepLabV3Plus extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly aspp: nn.Sequential;
  declare readonly lowLevel: nn.Sequential;
  declare readonly decoder: nn.Sequential;
  declare readonly head: nn.Conv2d;
  readonly classes: number;

  constructor(encoder: Encoder, { classes, rates = [12, 24, 36], separable = false }: DeepLabOptions) {
    super();
    this.classes = classes;
    this.registerModule('encoder', encoder);
    this.registerModule('aspp', new nn.Sequential(new ASPP(encoder.channels[4], rates, 256, { separable }), convBnRelu(256, 256, 3, { separable })));
    this.registerModule('lowLevel', convBnRelu(encoder.channels[1], 48, 1));
    this.registerModule('decoder', convBnRelu(256 + 48, 256, 3, { separable }));
    this.registerModule('head', new nn.Conv2d(256, classes, 1));
  }

  protected run(x: Tensor): ModelOutputs {
    const f = this.encoder.forward(x);
    const low = this.lowLevel.forward(f[1]);
    const high = resizeTo(this.aspp.forward(f[4]), low.shape.slice(2));
    const y = this.decoder.forward(torch.cat([high, low], 1));
    return { out: resizeTo(this.head.forward(y), x.shape.slice(2)) };
  }
}
