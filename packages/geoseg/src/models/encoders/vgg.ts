// VGG-16 with batch norm, with torchvision's parameter names (`features.N.*`), so a torchvision
// state dict without its `classifier.*` loads with strict: true. Features are the outputs of the
// five max pools. VGG has no dilated variant here, so only output stride 32 is supported.
import { nn, type Tensor } from '@geoseg/torch';
import { ModelConfigError } from '../../errors.js';
import { Encoder, type EncoderOptions, type OutputStride } from './encoder.js';

const CFG: (number | 'M')[] = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'];

export class VGG16BNEncoder extends Encoder {
  declare readonly features: nn.Sequential;
  readonly channels: readonly number[] = [64, 128, 256, 512, 512];
  readonly outputStride: OutputStride = 32;
  readonly firstConv = 'features.0.weight';
  readonly inChannels: number;

  constructor({ inChannels = 3, outputStride = 32 }: EncoderOptions = {}) {
    super();
    this.inChannels = inChannels;
    if (outputStride !== 32) {
      throw new ModelConfigError(`VGG16BNEncoder: output stride ${outputStride} is not supported (only 32); use a ResNet or MobileNetV2 encoder for a dilated backbone`);
    }
    const layers: nn.Module[] = [];
    let inC = inChannels;
    for (const v of CFG) {
      if (v === 'M') {
        layers.push(new nn.MaxPool2d(2, { stride: 2 }));
      } else {
        layers.push(new nn.Conv2d(inC, v, 3, { padding: 1 }), new nn.BatchNorm2d(v), new nn.ReLU(true));
        inC = v;
      }
    }
    this.registerModule('features', new nn.Sequential(...layers));
    // torchvision's init: kaiming normal (fan out, relu) for convolutions, bias 0; BN weight 1, bias 0.
    this.apply((m) => {
      if (m instanceof nn.Conv2d) {
        nn.init.kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
        if (m.bias) nn.init.zeros_(m.bias);
      }
    });
  }

  forward(x: Tensor): Tensor[] {
    const out: Tensor[] = [];
    for (const layer of this.features) {
      x = layer.forward(x);
      if (layer instanceof nn.MaxPool2d) out.push(x);
    }
    return out;
  }
}
