// Semantic FPN (Kirillov et al. 2019) as the FactSeg paper's baseline (simplecv's SemanticFPN): the
// encoder's strides 4–32 through a feature pyramid (`fpn`), the asymmetric decoder (`decoder`), a
// 1×1 classifier (`cls_pred_conv`) at stride 4 and ×4 bilinear upsampling (align_corners true).
import { nn, type Tensor } from '@geoseg/torch';
import type { Encoder } from '../../encoders/encoder.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';
import { AsymmetricDecoder } from './asymmetric-decoder.js';
import { FeaturePyramid } from './feature-pyramid.js';

/** The pyramid's inputs: the encoder's features at strides 4, 8, 16, 32. */
export const pyramidInputs = (features: Tensor[]): Tensor[] => features.slice(1, 5);

/** Logits at stride 4 → input resolution, as the reference (×4, align_corners true). */
export const upsample4 = (x: Tensor): Tensor => nn.functional.interpolate(x, { scaleFactor: 4, mode: 'bilinear', alignCorners: true });

export interface PyramidHeadOptions {
  classes: number;
  /** Channels of the pyramid (256) and of the decoder (128). */
  pyramidChannels?: number;
  decoderChannels?: number;
}

export class SemanticFPN extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly fpn: FeaturePyramid;
  declare readonly decoder: AsymmetricDecoder;
  declare readonly cls_pred_conv: nn.Conv2d;
  readonly classes: number;

  constructor(encoder: Encoder, { classes, pyramidChannels = 256, decoderChannels = 128 }: PyramidHeadOptions) {
    super();
    this.classes = classes;
    this.registerModule('encoder', encoder);
    this.registerModule('fpn', new FeaturePyramid(encoder.channels.slice(1, 5), pyramidChannels));
    this.registerModule('decoder', new AsymmetricDecoder(pyramidChannels, decoderChannels));
    this.registerModule('cls_pred_conv', new nn.Conv2d(decoderChannels, classes, 1));
  }

  /** The pyramid (finest first) and the logits at stride 4. */
  protected strideFour(x: Tensor): { pyramid: Tensor[]; logits: Tensor } {
    const pyramid = this.fpn.forward(pyramidInputs(this.encoder.forward(x)));
    return { pyramid, logits: this.cls_pred_conv.forward(this.decoder.forward(pyramid)) };
  }

  protected run(x: Tensor): ModelOutputs {
    const { pyramid, logits } = this.strideFour(x);
    pyramid.forEach((t) => t.dispose());
    return { out: upsample4(logits) };
  }
}
