// OCR, object-contextual representations (Yuan et al. 2020), on HRNetV2, with the official
// HRNet-Semantic-Segmentation (HRNet-OCR branch) names. From the concatenated stride-4 features:
// `aux_head` gives soft object regions (the auxiliary output, supervised at 0.4); the regions
// gather a representation per class (softmax over pixels); each pixel attends to the class
// representations (key 256 channels, scaled dot product, 1/√256) and the attended context,
// concatenated with the pixel features, becomes the augmented representation that `cls_head`
// classifies.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { resizeTo } from '../../blocks.js';
import type { Encoder } from '../../encoders/encoder.js';
import { joinBranches, joinedChannels } from '../../encoders/hrnet.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';

const bnRelu = (c: number) => new nn.Sequential(new nn.BatchNorm2d(c), new nn.ReLU(true));
const conv1x1 = (inC: number, outC: number) => new nn.Conv2d(inC, outC, 1, { bias: false });

/** The pixel–region relation: pixels query, class representations are keys and values. */
class ObjectAttentionBlock extends nn.Module {
  declare readonly f_pixel: nn.Sequential;
  declare readonly f_object: nn.Sequential;
  declare readonly f_down: nn.Sequential;
  declare readonly f_up: nn.Sequential;

  constructor(channels: number, readonly keyChannels: number) {
    super();
    const twoLayers = () => new nn.Sequential(conv1x1(channels, keyChannels), bnRelu(keyChannels), conv1x1(keyChannels, keyChannels), bnRelu(keyChannels));
    this.registerModule('f_pixel', twoLayers());
    this.registerModule('f_object', twoLayers());
    this.registerModule('f_down', new nn.Sequential(conv1x1(channels, keyChannels), bnRelu(keyChannels)));
    this.registerModule('f_up', new nn.Sequential(conv1x1(keyChannels, channels), bnRelu(channels)));
  }

  /** x [N, C, H, W], proxy [N, C, K, 1] → context [N, C, H, W]. */
  attend(x: Tensor, proxy: Tensor): Tensor {
    return torch.tidy(() => {
      const [n, , h, w] = x.shape;
      const query = this.f_pixel.forward(x).view([n, this.keyChannels, -1]).permute([0, 2, 1]); // [N, HW, key]
      const key = this.f_object.forward(proxy).view([n, this.keyChannels, -1]); // [N, key, K]
      const value = this.f_down.forward(proxy).view([n, this.keyChannels, -1]).permute([0, 2, 1]); // [N, K, key]
      const sim = query.matmul(key).mul(this.keyChannels ** -0.5).softmax(-1); // [N, HW, K]
      const context = sim.matmul(value).permute([0, 2, 1]).contiguous().view([n, this.keyChannels, h, w]);
      return this.f_up.forward(context);
    });
  }

  forward(): never {
    throw new Error('ObjectAttentionBlock: call attend(x, proxy)');
  }
}

class SpatialOCR extends nn.Module {
  declare readonly object_context_block: ObjectAttentionBlock;
  declare readonly conv_bn_dropout: nn.Sequential;

  constructor(channels: number, keyChannels: number, outChannels: number) {
    super();
    this.registerModule('object_context_block', new ObjectAttentionBlock(channels, keyChannels));
    this.registerModule('conv_bn_dropout', new nn.Sequential(conv1x1(2 * channels, outChannels), bnRelu(outChannels), new nn.Dropout2d(0.05)));
  }

  augment(feats: Tensor, proxy: Tensor): Tensor {
    return torch.tidy(() => this.conv_bn_dropout.forward(torch.cat([this.object_context_block.attend(feats, proxy), feats], 1)));
  }

  forward(): never {
    throw new Error('SpatialOCR: call augment(feats, proxy)');
  }
}

export interface HRNetOCROptions {
  classes: number;
  /** Channels of the pixel representation (512) and of the attention's keys (256). */
  midChannels?: number;
  keyChannels?: number;
}

export class HRNetOCR extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly conv3x3_ocr: nn.Sequential;
  declare readonly ocr_distri_head: SpatialOCR;
  declare readonly cls_head: nn.Conv2d;
  declare readonly aux_head: nn.Sequential;
  readonly classes: number;

  constructor(encoder: Encoder, { classes, midChannels = 512, keyChannels = 256 }: HRNetOCROptions) {
    super();
    this.classes = classes;
    this.registerModule('encoder', encoder);
    const c = joinedChannels(encoder);
    this.registerModule('conv3x3_ocr', new nn.Sequential(new nn.Conv2d(c, midChannels, 3, { padding: 1 }), new nn.BatchNorm2d(midChannels), new nn.ReLU(true)));
    this.registerModule('ocr_distri_head', new SpatialOCR(midChannels, keyChannels, midChannels));
    this.registerModule('cls_head', new nn.Conv2d(midChannels, classes, 1));
    this.registerModule('aux_head', new nn.Sequential(new nn.Conv2d(c, c, 1), new nn.BatchNorm2d(c), new nn.ReLU(true), new nn.Conv2d(c, classes, 1)));
  }

  protected run(x: Tensor): ModelOutputs {
    const joined = joinBranches(this.encoder.forward(x));
    const regions = this.aux_head.forward(joined); // [N, K, H, W] soft object regions
    const feats = this.conv3x3_ocr.forward(joined);
    const [n, k] = regions.shape;
    // a representation per class: the features averaged under softmax(region) over the pixels
    const proxy = torch.tidy(() => regions.view([n, k, -1]).softmax(2).matmul(feats.view([n, feats.shape[1], -1]).permute([0, 2, 1])).permute([0, 2, 1]).unsqueeze(3));
    const out = this.cls_head.forward(this.ocr_distri_head.augment(feats, proxy));
    const outputs: ModelOutputs = { out: resizeTo(out, x.shape.slice(2)) };
    if (this.training) outputs.aux = resizeTo(regions, x.shape.slice(2));
    return outputs;
  }
}
