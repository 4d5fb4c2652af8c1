// ResNet-18/34/50/101 encoders with torchvision's parameter names, so a torchvision state dict
// (without its `fc.*` classifier) loads with strict: true. Output stride 16 or 8 replaces the
// strides of the last stages with dilation, as torchvision's replace_stride_with_dilation does.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { perImageInInference } from '../blocks.js';
import { Encoder, stageDilations, type EncoderOptions, type OutputStride } from './encoder.js';
import { BasicBlock, Bottleneck, conv1x1, type Block } from './residual-blocks.js';

const DEPTHS: Record<string, { block: 'basic' | 'bottleneck'; layers: number[] }> = {
  resnet18: { block: 'basic', layers: [2, 2, 2, 2] },
  resnet34: { block: 'basic', layers: [3, 4, 6, 3] },
  resnet50: { block: 'bottleneck', layers: [3, 4, 6, 3] },
  resnet101: { block: 'bottleneck', layers: [3, 4, 23, 3] },
};

export type ResNetName = 'resnet18' | 'resnet34' | 'resnet50' | 'resnet101';

export class ResNetEncoder extends Encoder {
  declare readonly conv1: nn.Conv2d;
  declare readonly bn1: nn.BatchNorm2d;
  declare readonly maxpool: nn.MaxPool2d;
  declare readonly layer1: nn.Sequential;
  declare readonly layer2: nn.Sequential;
  declare readonly layer3: nn.Sequential;
  declare readonly layer4: nn.Sequential;
  readonly channels: readonly number[];
  readonly outputStride: OutputStride;
  readonly firstConv = 'conv1.weight';
  readonly inChannels: number;

  constructor(readonly name: ResNetName, { inChannels = 3, outputStride = 32 }: EncoderOptions = {}) {
    super();
    this.inChannels = inChannels;
    const spec = DEPTHS[name];
    const Block = spec.block === 'basic' ? BasicBlock : Bottleneck;
    const expansion = Block.expansion;
    this.outputStride = outputStride;
    this.registerModule('conv1', new nn.Conv2d(inChannels, 64, 7, { stride: 2, padding: 3, bias: false }));
    this.registerModule('bn1', new nn.BatchNorm2d(64));
    this.registerModule('maxpool', new nn.MaxPool2d(3, { stride: 2, padding: 1 }));
    const { strides, dilations } = stageDilations(outputStride);
    let inplanes = 64;
    let dilation = 1;
    [64, 128, 256, 512].forEach((planes, i) => {
      const previousDilation = dilation;
      dilation = dilations[i];
      const stride = strides[i];
      const blocks: nn.Module[] = [];
      const needsDownsample = stride !== 1 || inplanes !== planes * expansion;
      const downsample = needsDownsample
        ? new nn.Sequential(conv1x1(inplanes, planes * expansion, stride), new nn.BatchNorm2d(planes * expansion))
        : null;
      blocks.push(new Block(inplanes, planes, stride, dilation, previousDilation, downsample));
      inplanes = planes * expansion;
      for (let b = 1; b < spec.layers[i]; b++) blocks.push(new Block(inplanes, planes, 1, dilation, dilation, null));
      this.registerModule(`layer${i + 1}`, new nn.Sequential(...blocks));
    });
    this.channels = [64, 64 * expansion, 128 * expansion, 256 * expansion, 512 * expansion];
    // torchvision's init: kaiming normal (fan out, relu) for convolutions; BN weight 1, bias 0.
    this.apply((m) => {
      if (m instanceof nn.Conv2d) nn.init.kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
    });
  }

  forward(x: Tensor): Tensor[] {
    const s2 = this.stem(x);
    const pooled = this.maxpool.forward(s2);
    const s4 = this.layer1.forward(pooled);
    pooled.dispose();
    const s8 = this.layer2.forward(s4);
    const s16 = this.layer3.forward(s8);
    const s32 = this.layer4.forward(s16);
    return [s2, s4, s8, s16, s32];
  }

  /** conv1 → bn1 → relu, the encoder's largest activations: image by image in inference. */
  private stem(x: Tensor): Tensor {
    const one = (t: Tensor) => torch.tidy(() => this.bn1.forward(this.conv1.forward(t)).relu_());
    return perImageInInference(this, x, one);
  }
}
