// VGG-16, plain or with batch norm, with torchvision's parameter names (`features.N.*`), so a
// torchvision vgg16 / vgg16_bn state dict without its `classifier.*` loads with strict: true.
// Features are the outputs of the five max pools. Output stride 16 or 8 as DeepLab (v1) makes it:
// the last one or two pools become 3×3 with stride 1 (padding 1), and the convolutions after a
// removed stride are dilated by it (conv5 by 2 at stride 8).
import { nn, type Tensor } from '@geoseg/torch';
import { Encoder, type EncoderOptions, type OutputStride } from './encoder.js';

const CFG: (number | 'M')[] = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'];

export interface VGGOptions extends EncoderOptions {
  /** BatchNorm after every convolution (torchvision's vgg16_bn), or none (vgg16). */
  batchNorm?: boolean;
}

export class VGG16Encoder extends Encoder {
  declare readonly features: nn.Sequential;
  readonly channels: readonly number[] = [64, 128, 256, 512, 512];
  readonly outputStride: OutputStride;
  readonly firstConv = 'features.0.weight';
  readonly inChannels: number;

  constructor({ inChannels = 3, outputStride = 32, batchNorm = true }: VGGOptions = {}) {
    super();
    this.inChannels = inChannels;
    this.outputStride = outputStride;
    // pools 4 and 5 (indices 3, 4) keep the resolution at output stride 8; pool 5 alone at 16
    const stridedPools = outputStride === 32 ? 5 : outputStride === 16 ? 4 : 3;
    const layers: nn.Module[] = [];
    let inC = inChannels;
    let pool = 0;
    let dilation = 1;
    for (const v of CFG) {
      if (v === 'M') {
        if (pool < stridedPools) layers.push(new nn.MaxPool2d(2, { stride: 2 }));
        else {
          layers.push(new nn.MaxPool2d(3, { stride: 1, padding: 1 }));
          dilation *= 2; // the convolutions after this pool see the removed stride
        }
        pool++;
      } else {
        layers.push(new nn.Conv2d(inC, v, 3, { padding: dilation, dilation }));
        if (batchNorm) layers.push(new nn.BatchNorm2d(v));
        layers.push(new nn.ReLU(true));
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
