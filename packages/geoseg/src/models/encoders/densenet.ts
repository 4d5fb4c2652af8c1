// DenseNet-121 (Huang et al. 2017) with torchvision's parameter names (`features.conv0`,
// `features.denseblock1.denselayer1.norm1`, `features.transition1.conv`, `features.norm5`), so a
// torchvision state dict without its `classifier.*` loads strictly (the legacy `norm.1`-style
// names of torchvision's published file are renamed on load). Features as
// segmentation_models_pytorch's DenseNet encoder taps them, whose UNet is the FactSeg paper's
// DenseU-Net: the stem at stride 2 (64), each transition's input after its BN + ReLU at strides
// 4, 8, 16 (256, 512, 1024), and norm5 at 32 (1024). Output stride 16 or 8 as the FactSeg
// repository's dilated DenseNet: the last one or two transitions lose their pooling and the 3×3
// convolutions of the blocks after them are dilated (by 2, or 2 and 4).
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { Encoder, type EncoderOptions, type OutputStride } from './encoder.js';

const GROWTH = 32;
const BOTTLENECK = 4; // bn_size: the 1×1 convolution's width is BOTTLENECK · GROWTH
const BLOCKS = [6, 12, 24, 16]; // DenseNet-121

class DenseLayer extends nn.Module {
  declare readonly norm1: nn.BatchNorm2d;
  declare readonly conv1: nn.Conv2d;
  declare readonly norm2: nn.BatchNorm2d;
  declare readonly conv2: nn.Conv2d;

  constructor(inC: number, dilation: number) {
    super();
    this.registerModule('norm1', new nn.BatchNorm2d(inC));
    this.registerModule('conv1', new nn.Conv2d(inC, BOTTLENECK * GROWTH, 1, { bias: false }));
    this.registerModule('norm2', new nn.BatchNorm2d(BOTTLENECK * GROWTH));
    this.registerModule('conv2', new nn.Conv2d(BOTTLENECK * GROWTH, GROWTH, 3, { padding: dilation, dilation, bias: false }));
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.conv2.forward(this.norm2.forward(this.conv1.forward(this.norm1.forward(x).relu())).relu()));
  }
}

/** Each layer sees the concatenation of the block's input and every earlier layer's output. */
class DenseBlock extends nn.Module {
  private readonly layers: DenseLayer[] = [];

  constructor(inC: number, count: number, dilation: number) {
    super();
    for (let i = 0; i < count; i++) this.layers.push(this.registerModule(`denselayer${i + 1}`, new DenseLayer(inC + i * GROWTH, dilation)));
  }

  forward(x: Tensor): Tensor {
    let joined = x;
    for (const layer of this.layers) {
      const grown = torch.tidy(() => torch.cat([joined, layer.forward(joined)], 1));
      if (joined !== x) joined.dispose();
      joined = grown;
    }
    return joined;
  }
}

class Transition extends nn.Module {
  declare readonly norm: nn.BatchNorm2d;
  declare readonly conv: nn.Conv2d;

  constructor(inC: number, readonly pooled: boolean) {
    super();
    this.registerModule('norm', new nn.BatchNorm2d(inC));
    this.registerModule('conv', new nn.Conv2d(inC, inC / 2, 1, { bias: false }));
  }

  /** BN + ReLU: the encoder's feature at this stride. */
  activate(x: Tensor): Tensor {
    return torch.tidy(() => this.norm.forward(x).relu());
  }

  /** The activated features → the next block's input (1×1 halving, 2×2 average pooling). */
  reduce(activated: Tensor): Tensor {
    return torch.tidy(() => {
      const y = this.conv.forward(activated);
      return this.pooled ? y.avgPool2d([2, 2], [2, 2]) : y;
    });
  }

  forward(): never {
    throw new Error('Transition: call activate and reduce');
  }
}

class DenseNetFeatures extends nn.Module {
  declare readonly conv0: nn.Conv2d;
  declare readonly norm0: nn.BatchNorm2d;
  declare readonly pool0: nn.MaxPool2d;
  declare readonly norm5: nn.BatchNorm2d;
  readonly blocks: DenseBlock[] = [];
  readonly transitions: Transition[] = [];

  constructor(inChannels: number, outputStride: OutputStride) {
    super();
    this.registerModule('conv0', new nn.Conv2d(inChannels, 64, 7, { stride: 2, padding: 3, bias: false }));
    this.registerModule('norm0', new nn.BatchNorm2d(64));
    this.registerModule('pool0', new nn.MaxPool2d(3, { stride: 2, padding: 1 }));
    // The transitions before blocks 3 and 4 pool at output stride 32; the blocks after an
    // unpooled transition are dilated by the stride it no longer takes.
    const pooled = outputStride === 32 ? [true, true, true] : outputStride === 16 ? [true, true, false] : [true, false, false];
    const dilations = outputStride === 32 ? [1, 1, 1, 1] : outputStride === 16 ? [1, 1, 1, 2] : [1, 1, 2, 4];
    let c = 64;
    BLOCKS.forEach((count, i) => {
      this.blocks.push(this.registerModule(`denseblock${i + 1}`, new DenseBlock(c, count, dilations[i]!)));
      c += count * GROWTH;
      if (i < BLOCKS.length - 1) {
        this.transitions.push(this.registerModule(`transition${i + 1}`, new Transition(c, pooled[i]!)));
        c /= 2;
      }
    });
    this.registerModule('norm5', new nn.BatchNorm2d(c));
  }

  forward(x: Tensor): Tensor[] {
    const s2 = torch.tidy(() => this.norm0.forward(this.conv0.forward(x)).relu());
    const features = [s2];
    let y = this.pool0.forward(s2);
    for (let i = 0; i < this.blocks.length; i++) {
      const grown = this.blocks[i]!.forward(y);
      y.dispose();
      if (i === this.blocks.length - 1) {
        features.push(this.norm5.forward(grown));
      } else {
        const activated = this.transitions[i]!.activate(grown);
        features.push(activated);
        y = this.transitions[i]!.reduce(activated);
      }
      grown.dispose();
    }
    return features;
  }
}

/** torchvision's published weights name `norm1` as `norm.1` (and so on) inside the dense layers. */
const LEGACY_LAYER_KEY = /^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$/;

export class DenseNetEncoder extends Encoder {
  declare readonly features: DenseNetFeatures;
  readonly channels: readonly number[] = [64, 256, 512, 1024, 1024];
  readonly outputStride: OutputStride;
  readonly firstConv = 'features.conv0.weight';
  readonly inChannels: number;

  constructor({ inChannels = 3, outputStride = 32 }: EncoderOptions = {}) {
    super();
    this.inChannels = inChannels;
    this.outputStride = outputStride;
    this.registerModule('features', new DenseNetFeatures(inChannels, outputStride));
    // torchvision's init: kaiming normal convolutions (fan in); BN weight 1, bias 0.
    this.apply((m) => {
      if (m instanceof nn.Conv2d) nn.init.kaimingNormal_(m.weight);
    });
  }

  /** torchvision's legacy dense-layer names renamed to the current ones. */
  override checkpointKeys<T>(state: Record<string, T>): Record<string, T> {
    return Object.fromEntries(Object.entries(state).map(([k, v]) => {
      const m = LEGACY_LAYER_KEY.exec(k);
      return [m ? `${m[1]}${m[2]}` : k, v];
    }));
  }

  forward(x: Tensor): Tensor[] {
    return this.features.forward(x);
  }
}
