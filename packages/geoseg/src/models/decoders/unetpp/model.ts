// UNet++ (Zhou et al. 2018) on an encoder: the encoder's features are the nodes X(i,0) at strides
// 2–32, and the nested nodes X(i,j) = conv(i,j)([X(i,0), …, X(i,j−1), up(X(i+1,j−1))]) fill the
// dense skip pathways (names conv{i}_{j}, VGG blocks of two 3×3 conv-BN-ReLU as the FactSeg
// repository's NestedUNet; upsampling bilinear, align_corners true). The head classifies X(0,4)
// at stride 2 (`final`); with deep supervision each X(0,j) has its own head (`final1..4`: out
// from X(0,4), training outputs level1..3 from X(0,1..3)), and `prune: k` predicts from X(0,k),
// computing only the nodes it needs (i + j ≤ k).
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { ModelConfigError } from '../../../errors.js';
import type { Encoder } from '../../encoders/encoder.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';

const DEPTH = 4; // nested levels above the encoder's

class VGGBlock extends nn.Module {
  declare readonly conv1: nn.Conv2d;
  declare readonly bn1: nn.BatchNorm2d;
  declare readonly conv2: nn.Conv2d;
  declare readonly bn2: nn.BatchNorm2d;

  constructor(inC: number, outC: number) {
    super();
    this.registerModule('conv1', new nn.Conv2d(inC, outC, 3, { padding: 1 }));
    this.registerModule('bn1', new nn.BatchNorm2d(outC));
    this.registerModule('conv2', new nn.Conv2d(outC, outC, 3, { padding: 1 }));
    this.registerModule('bn2', new nn.BatchNorm2d(outC));
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu_())).relu_());
  }
}

const upTo = (x: Tensor, like: Tensor) =>
  nn.functional.interpolate(x, { size: [like.shape[2]!, like.shape[3]!], mode: 'bilinear', alignCorners: true });

export interface UNetPlusPlusOptions {
  classes: number;
  /** Channels of the nested nodes at strides 2, 4, 8, 16. */
  decoderChannels?: readonly number[];
  /** A head on every X(0,j), each supervised in training. */
  deepSupervision?: boolean;
  /** Predict from X(0,prune) (1–4; below 4 needs deep supervision). */
  prune?: number;
}

export class UNetPlusPlus extends SegmentationModel {
  declare readonly encoder: Encoder;
  readonly classes: number;
  readonly deepSupervision: boolean;
  readonly prune: number;
  /** nodes[i][j] is conv{i}_{j} (j ≥ 1). */
  private readonly nodes: VGGBlock[][] = [];
  private readonly heads: nn.Conv2d[] = [];

  constructor(encoder: Encoder, { classes, decoderChannels = [32, 64, 128, 256], deepSupervision = false, prune = DEPTH }: UNetPlusPlusOptions) {
    super();
    if (decoderChannels.length !== DEPTH) throw new Error(`UNet++: decoderChannels needs ${DEPTH} entries, got ${decoderChannels.length}`);
    if (prune !== DEPTH && !deepSupervision) throw new ModelConfigError(`model: 'prune': ${prune} needs deepSupervision: true (a head on the pruned level)`);
    this.classes = classes;
    this.deepSupervision = deepSupervision;
    this.prune = prune;
    this.registerModule('encoder', encoder);
    const e = encoder.channels;
    const f = decoderChannels;
    for (let i = 0; i < DEPTH; i++) this.nodes.push([]);
    for (let j = 1; j <= DEPTH; j++) {
      for (let i = 0; i <= DEPTH - j; i++) {
        const inC = e[i]! + (j - 1) * f[i]! + (j === 1 ? e[i + 1]! : f[i + 1]!);
        this.nodes[i]![j] = this.registerModule(`conv${i}_${j}`, new VGGBlock(inC, f[i]!));
      }
    }
    const head = () => new nn.Conv2d(f[0]!, classes, 1);
    if (deepSupervision) for (let j = 1; j <= DEPTH; j++) this.heads[j] = this.registerModule(`final${j}`, head());
    else this.heads[DEPTH] = this.registerModule('final', head());
  }

  protected run(x: Tensor): ModelOutputs {
    const size = x.shape.slice(2);
    const toInput = (t: Tensor) => nn.functional.interpolate(t, { size: [size[0]!, size[1]!], mode: 'bilinear', alignCorners: true });
    // In inference a pruned model computes only the nodes X(0,prune) depends on.
    const levels = this.training ? DEPTH : this.prune;
    const grid: Tensor[][] = this.encoder.forward(x).map((t) => [t]);
    for (let j = 1; j <= levels; j++) {
      for (let i = 0; i <= levels - j; i++) {
        const row = grid[i]!;
        grid[i]![j] = torch.tidy(() => this.nodes[i]![j]!.forward(torch.cat([...row.slice(0, j), upTo(grid[i + 1]![j - 1]!, row[0]!)], 1)));
      }
    }
    const outputs: ModelOutputs = { out: toInput(this.heads[levels]!.forward(grid[0]![levels]!)) };
    if (this.training && this.deepSupervision) {
      for (let j = 1; j < DEPTH; j++) outputs[`level${j}`] = toInput(this.heads[j]!.forward(grid[0]![j]!));
    }
    return outputs;
  }
}
