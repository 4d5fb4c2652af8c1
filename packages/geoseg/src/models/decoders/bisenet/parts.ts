// BiSeNet's building blocks, with the names of the authors' TorchSeg code: ConvBnRelu (conv, bn),
// the attention refinement module, the feature fusion module and the segmentation head.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { batchNormPooled } from '../../blocks.js';

interface ConvBnReluOptions { stride?: number; bn?: boolean; relu?: boolean; bias?: boolean }

/** A convolution ('same' padding) with optional batch norm and ReLU, as modules `conv` and `bn`. */
export class ConvBnRelu extends nn.Module {
  declare readonly conv: nn.Conv2d;
  declare readonly bn?: nn.BatchNorm2d;
  readonly relu: boolean;

  constructor(inC: number, outC: number, kernel: number, { stride = 1, bn = true, relu = true, bias = false }: ConvBnReluOptions = {}) {
    super();
    this.registerModule('conv', new nn.Conv2d(inC, outC, kernel, { stride, padding: Math.floor(kernel / 2), bias }));
    if (bn) this.registerModule('bn', new nn.BatchNorm2d(outC));
    this.relu = relu;
  }

  forward(x: Tensor): Tensor {
    let y = this.conv.forward(x);
    if (this.bn) y = batchNormPooled(this.bn, y);
    return this.relu ? y.relu_() : y;
  }
}

/** Global pooling, then 1×1 convs (no norm), then a sigmoid: a per-channel weight in (0, 1). */
const channelWeights = (...convs: ConvBnRelu[]) => new nn.Sequential(new nn.AdaptiveAvgPool2d(1), ...convs, new nn.Sigmoid());

/** Attention refinement: a 3×3 ConvBnRelu, its output reweighted per channel by its global context. */
export class AttentionRefinement extends nn.Module {
  declare readonly conv_3x3: ConvBnRelu;
  declare readonly channel_attention: nn.Sequential;

  constructor(inC: number, outC: number) {
    super();
    this.registerModule('conv_3x3', new ConvBnRelu(inC, outC, 3));
    this.registerModule('channel_attention', channelWeights(new ConvBnRelu(outC, outC, 1, { bn: false, relu: false })));
  }

  forward(x: Tensor): Tensor {
    const fm = this.conv_3x3.forward(x);
    return fm.mul(this.channel_attention.forward(fm));
  }
}

/**
 * The feature fusion module. 'paper': the spatial and context features concatenated through a 1×1
 * ConvBnRelu; 'split': each path brought to the output width by its own 1×1 transition and summed,
 * so the shallow path weighs as much as the context. Then fm + fm · (squeeze-excitation weights).
 */
export class FeatureFusion extends nn.Module {
  declare readonly conv_1x1?: ConvBnRelu;
  declare readonly transition_spatial?: ConvBnRelu;
  declare readonly transition_context?: ConvBnRelu;
  declare readonly channel_attention: nn.Sequential;

  constructor(spatialC: number, contextC: number, outC: number, fusion: 'paper' | 'split') {
    super();
    if (fusion === 'paper') {
      this.registerModule('conv_1x1', new ConvBnRelu(spatialC + contextC, outC, 1));
    } else {
      this.registerModule('transition_spatial', new ConvBnRelu(spatialC, outC, 1));
      this.registerModule('transition_context', new ConvBnRelu(contextC, outC, 1));
    }
    this.registerModule('channel_attention', channelWeights(
      new ConvBnRelu(outC, outC, 1, { bn: false }), new ConvBnRelu(outC, outC, 1, { bn: false, relu: false })));
  }

  fuse(spatial: Tensor, context: Tensor): Tensor {
    return torch.tidy(() => {
      const fm = this.conv_1x1
        ? this.conv_1x1.forward(torch.cat([spatial, context], 1))
        : this.transition_spatial!.forward(spatial).add(this.transition_context!.forward(context));
      return fm.add(fm.mul(this.channel_attention.forward(fm)));
    });
  }

  forward(): never {
    throw new Error('FeatureFusion: call fuse(spatial, context)');
  }
}

/** A segmentation head: 3×3 ConvBnRelu, 1×1 classifier. */
export class SegmentationHead extends nn.Module {
  declare readonly conv_3x3: ConvBnRelu;
  declare readonly conv_1x1: nn.Conv2d;

  constructor(inC: number, midC: number, classes: number) {
    super();
    this.registerModule('conv_3x3', new ConvBnRelu(inC, midC, 3));
    this.registerModule('conv_1x1', new nn.Conv2d(midC, classes, 1));
  }

  forward(x: Tensor): Tensor {
    return this.conv_1x1.forward(this.conv_3x3.forward(x));
  }
}
