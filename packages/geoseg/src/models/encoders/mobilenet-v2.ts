// MobileNetV2 encoder (width 1.0) with torchvision's parameter names (`features.*`), so a
// torchvision state dict without its `classifier.*` loads with strict: true. Output stride 16 or 8
// turns the later stride-2 depthwise convolutions into dilated stride-1 ones, as DeepLab does.
import { nn, type Tensor } from '@geoseg/torch';
import { Encoder, type EncoderOptions, type OutputStride } from './encoder.js';

/** torchvision's Conv2dNormActivation: conv (children '0', '1', '2'), BN, ReLU6. */
function convBNReLU6(inC: number, outC: number, kernel: number, { stride = 1, dilation = 1, groups = 1 } = {}): nn.Sequential {
  const padding = kernel === 3 ? dilation : 0;
  return new nn.Sequential(
    new nn.Conv2d(inC, outC, kernel, { stride, padding, dilation, groups, bias: false }),
    new nn.BatchNorm2d(outC),
    new nn.ReLU6(true),
  );
}

class InvertedResidual extends nn.Module {
  declare readonly conv: nn.Sequential;
  readonly useResidual: boolean;

  constructor(inC: number, outC: number, stride: number, dilation: number, expandRatio: number) {
    super();
    const hidden = inC * expandRatio;
    this.useResidual = stride === 1 && inC === outC;
    const layers: nn.Module[] = [];
    if (expandRatio !== 1) layers.push(convBNReLU6(inC, hidden, 1));
    layers.push(
      convBNReLU6(hidden, hidden, 3, { stride, dilation, groups: hidden }),
      new nn.Conv2d(hidden, outC, 1, { bias: false }),
      new nn.BatchNorm2d(outC),
    );
    this.registerModule('conv', new nn.Sequential(...layers));
  }

  forward(x: Tensor): Tensor {
    const out = this.conv.forward(x);
    return this.useResidual ? out.add_(x) : out;
  }
}

// t (expansion), c (channels), n (blocks), s (stride of the first block).
const SETTINGS = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]];
/** Indices in `features` whose outputs are at nominal strides 2, 4, 8, 16, 32. */
const FEATURE_INDICES = [1, 3, 6, 13, 18];

export class MobileNetV2Encoder extends Encoder {
  declare readonly features: nn.Sequential;
  readonly channels: readonly number[] = [16, 24, 32, 96, 1280];
  readonly outputStride: OutputStride;
  readonly firstConv = 'features.0.0.weight';
  readonly inChannels: number;

  constructor({ inChannels = 3, outputStride = 32 }: EncoderOptions = {}) {
    super();
    this.inChannels = inChannels;
    this.outputStride = outputStride;
    const layers: nn.Module[] = [convBNReLU6(inChannels, 32, 3, { stride: 2 })];
    let inC = 32;
    let currentStride = 2;
    let dilation = 1;
    for (const [t, c, n, s] of SETTINGS) {
      // Once the output stride is reached, a stride becomes dilation; the first block of the stage
      // keeps the previous dilation (as torchvision's ResNet and DeepLab's MobileNetV2 do).
      const previousDilation = dilation;
      let stride = s;
      if (currentStride * s > outputStride) {
        stride = 1;
        dilation *= s;
      } else {
        currentStride *= s;
      }
      for (let i = 0; i < n; i++) {
        layers.push(i === 0
          ? new InvertedResidual(inC, c, stride, previousDilation, t)
          : new InvertedResidual(inC, c, 1, dilation, t));
        inC = c;
      }
    }
    layers.push(convBNReLU6(inC, 1280, 1));
    this.registerModule('features', new nn.Sequential(...layers));
    // torchvision's init: kaiming normal (fan out) for convolutions; BN weight 1, bias 0 (the default).
    this.apply((m) => {
      if (m instanceof nn.Conv2d) nn.init.kaimingNormal_(m.weight, { mode: 'fanOut' });
    });
  }

  forward(x: Tensor): Tensor[] {
    const out: Tensor[] = [];
    let i = 0;
    for (const layer of this.features) {
      x = layer.forward(x);
      if (FEATURE_INDICES.includes(i++)) out.push(x);
    }
    return out;
  }
}
