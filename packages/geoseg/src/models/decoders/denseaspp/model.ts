// DenseASPP (Yang et al., CVPR 2018), the head of the FactSeg repository's baseline: atrous
// branches at rates 3, 6, 12, 18, 24, densely connected — each takes the head's input and every
// earlier branch's output (1×1 to 256, BN-ReLU, 3×3 dilated to 64, BN-ReLU, dropout 0.1), so
// the receptive fields combine into a dense range of scales; a 1×1 classifier on all of it.
// Names head.dense_aspp_block.aspp_{rate}.{conv1,bn1,conv2,bn2}, head.block.1 as the reference.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import type { Encoder } from '../../encoders/encoder.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';

const RATES = [3, 6, 12, 18, 24];

class DenseASPPBranch extends nn.Module {
  declare readonly conv1: nn.Conv2d;
  declare readonly bn1: nn.BatchNorm2d;
  declare readonly conv2: nn.Conv2d;
  declare readonly bn2: nn.BatchNorm2d;
  declare readonly drop: nn.Dropout;

  constructor(inC: number, inter: number, outC: number, rate: number) {
    super();
    this.registerModule('conv1', new nn.Conv2d(inC, inter, 1));
    this.registerModule('bn1', new nn.BatchNorm2d(inter));
    this.registerModule('conv2', new nn.Conv2d(inter, outC, 3, { padding: rate, dilation: rate }));
    this.registerModule('bn2', new nn.BatchNorm2d(outC));
    this.registerModule('drop', new nn.Dropout(0.1));
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.drop.forward(this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu_())).relu_()));
  }
}

class DenseASPPBlock extends nn.Module {
  private readonly branches: DenseASPPBranch[] = [];

  constructor(inC: number, inter = 256, growth = 64) {
    super();
    RATES.forEach((rate, k) => this.branches.push(this.registerModule(`aspp_${rate}`, new DenseASPPBranch(inC + k * growth, inter, growth, rate))));
  }

  /** [newest branch, …, first branch, x]: channels inC + 5 · growth. */
  forward(x: Tensor): Tensor {
    let joined = x;
    for (const branch of this.branches) {
      const next = torch.tidy(() => torch.cat([branch.forward(joined), joined], 1));
      if (joined !== x) joined.dispose();
      joined = next;
    }
    return joined;
  }
}

class DenseASPPHead extends nn.Module {
  declare readonly dense_aspp_block: DenseASPPBlock;
  declare readonly block: nn.Sequential;

  constructor(inC: number, classes: number) {
    super();
    this.registerModule('dense_aspp_block', new DenseASPPBlock(inC));
    this.registerModule('block', new nn.Sequential(new nn.Dropout(0.1), new nn.Conv2d(inC + RATES.length * 64, classes, 1)));
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.block.forward(this.dense_aspp_block.forward(x)));
  }
}

export class DenseASPP extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly head: DenseASPPHead;
  readonly classes: number;

  constructor(encoder: Encoder, { classes }: { classes: number }) {
    super();
    this.classes = classes;
    this.registerModule('encoder', encoder);
    this.registerModule('head', new DenseASPPHead(encoder.channels[4]!, classes));
  }

  protected run(x: Tensor): ModelOutputs {
    const logits = this.head.forward(this.encoder.forward(x)[4]!);
    return { out: nn.functional.interpolate(logits, { size: [x.shape[2]!, x.shape[3]!], mode: 'bilinear', alignCorners: true }) };
  }
}
