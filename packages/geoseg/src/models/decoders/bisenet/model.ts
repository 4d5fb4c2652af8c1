// BiSeNet V1 (Yu et al. 2018), in the layout and names of the authors' TorchSeg code. A spatial
// path of three stride-2 convolutions keeps detail at 1/8; the context path (the encoder) refines
// its 1/32 and 1/16 stages with attention refinement modules, each added to the (upsampled) context
// from below it, starting from the global context; the fusion module joins both paths at 1/8.
// Heads on the 1/16 and 1/8 context features (outputs `aux16`, `aux8`) supervise training.
// Options from the SegHZ report: `psp` replaces the global context with pyramid pooling over the
// deepest features; `fusion: split` gives each path its own transition to 256 channels before
// the fusion (see parts.ts).
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { convBnRelu, forwardPooled, resizeTo } from '../../blocks.js';
import type { Encoder } from '../../encoders/encoder.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';
import { PyramidPooling } from '../pspnet/model.js';
import { AttentionRefinement, ConvBnRelu, FeatureFusion, SegmentationHead } from './parts.js';

const CONTEXT = 128;

class SpatialPath extends nn.Module {
  declare readonly conv_7x7: ConvBnRelu;
  declare readonly conv_3x3_1: ConvBnRelu;
  declare readonly conv_3x3_2: ConvBnRelu;
  declare readonly conv_1x1: ConvBnRelu;

  constructor(inC: number) {
    super();
    this.registerModule('conv_7x7', new ConvBnRelu(inC, 64, 7, { stride: 2 }));
    this.registerModule('conv_3x3_1', new ConvBnRelu(64, 64, 3, { stride: 2 }));
    this.registerModule('conv_3x3_2', new ConvBnRelu(64, 64, 3, { stride: 2 }));
    this.registerModule('conv_1x1', new ConvBnRelu(64, CONTEXT, 1));
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.conv_1x1.forward(this.conv_3x3_2.forward(this.conv_3x3_1.forward(this.conv_7x7.forward(x)))));
  }
}

export interface BiSeNetOptions {
  classes: number;
  /** Pyramid pooling bins instead of the global context (absent: the paper's global pooling). */
  pspBins?: number[];
  fusion?: 'paper' | 'split';
}

export class BiSeNet extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly spatial_path: SpatialPath;
  declare readonly global_context?: nn.Sequential;
  declare readonly ppm?: PyramidPooling;
  declare readonly ppm_bottleneck?: nn.Sequential;
  declare readonly arms: nn.ModuleList<AttentionRefinement>;
  declare readonly refines: nn.ModuleList<ConvBnRelu>;
  declare readonly ffm: FeatureFusion;
  declare readonly heads: nn.ModuleList<SegmentationHead>;
  readonly classes: number;

  constructor(encoder: Encoder, { classes, pspBins, fusion = 'paper' }: BiSeNetOptions) {
    super();
    this.classes = classes;
    this.registerModule('encoder', encoder);
    const [, , , c3, c4] = encoder.channels;
    this.registerModule('spatial_path', new SpatialPath(encoder.inChannels));
    if (pspBins) {
      this.registerModule('ppm', new PyramidPooling(c4, pspBins));
      this.registerModule('ppm_bottleneck', convBnRelu(c4 + Math.floor(c4 / pspBins.length) * pspBins.length, CONTEXT, 3));
    } else {
      this.registerModule('global_context', new nn.Sequential(new nn.AdaptiveAvgPool2d(1), new ConvBnRelu(c4, CONTEXT, 1)));
    }
    this.registerModule('arms', new nn.ModuleList([new AttentionRefinement(c4, CONTEXT), new AttentionRefinement(c3, CONTEXT)]));
    this.registerModule('refines', new nn.ModuleList([new ConvBnRelu(CONTEXT, CONTEXT, 3), new ConvBnRelu(CONTEXT, CONTEXT, 3)]));
    this.registerModule('ffm', new FeatureFusion(CONTEXT, CONTEXT, 2 * CONTEXT, fusion));
    this.registerModule('heads', new nn.ModuleList([
      new SegmentationHead(CONTEXT, 256, classes), new SegmentationHead(CONTEXT, 256, classes), new SegmentationHead(2 * CONTEXT, 64, classes)]));
  }

  /** The context at the deepest stage's size: global pooling, or pyramid pooling with `psp`. */
  private globalContext(deepest: Tensor): Tensor {
    if (this.ppm && this.ppm_bottleneck) return forwardPooled(this.ppm_bottleneck, this.ppm.forward(deepest)); // 1×1 at small inputs
    return resizeTo(forwardPooled(this.global_context!, deepest), deepest.shape.slice(2));
  }

  protected run(x: Tensor): ModelOutputs {
    const f = this.encoder.forward(x);
    const spatial = this.spatial_path.forward(x);
    // the context path: 1/32 → 1/16 → 1/8, each level refined and added to the one below it
    let context = this.globalContext(f[4]);
    const levels: Tensor[] = [];
    for (const [i, [fm, target]] of ([[f[4], f[3]], [f[3], f[2]]] as const).entries()) {
      const refined = this.arms.at(i).forward(fm).add(context);
      context = this.refines.at(i).forward(resizeTo(refined, target.shape.slice(2)));
      levels.push(context);
    }
    const fused = this.ffm.fuse(spatial, resizeTo(context, spatial.shape.slice(2)));
    const [head16, head8, head] = [...this.heads];
    const size = x.shape.slice(2);
    const outputs: ModelOutputs = { out: resizeTo(head.forward(fused), size) };
    if (this.training) Object.assign(outputs, { aux16: resizeTo(head16.forward(levels[0]), size), aux8: resizeTo(head8.forward(levels[1]), size) });
    return outputs;
  }
}
