// The OCR modules (Yuan et al. 2020), shared by OCR on HRNet and on dilated ResNets, with the
// reference code's names (object_context_block: f_pixel, f_object, f_down, f_up; conv_bn_dropout).
// Soft object regions gather one representation per class (softmax over the pixels); each pixel
// attends to the class representations (scaled dot product over the key channels) and the
// attended context, concatenated with the pixel features, is the augmented representation.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';

/** BatchNorm + ReLU as one nested Sequential (the reference code's BNReLU). */
export const bnRelu = (c: number) => new nn.Sequential(new nn.BatchNorm2d(c), new nn.ReLU(true));
const conv1x1 = (inC: number, outC: number) => new nn.Conv2d(inC, outC, 1, { bias: false });

/**
 * One representation per class: the features averaged under each class's softmax over the pixels.
 * regions [N, K, H, W], feats [N, C, H, W] → [N, C, K, 1].
 */
export function gatherRegions(regions: Tensor, feats: Tensor): Tensor {
  return torch.tidy(() => {
    const [n, k] = regions.shape;
    return regions.view([n, k, -1]).softmax(2).matmul(feats.view([n, feats.shape[1], -1]).permute([0, 2, 1])).permute([0, 2, 1]).unsqueeze(3);
  });
}

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

/** The augmented representation: [context, pixel features] → 1×1 conv, BN, ReLU, dropout 0.05. */
export class SpatialOCR extends nn.Module {
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
