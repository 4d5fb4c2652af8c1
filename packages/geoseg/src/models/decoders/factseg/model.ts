// FactSeg (Ma et al., TGRS 2021), the reference design (Junjue-Wang/FactSeg): one encoder, two
// feature pyramids and two asymmetric decoders — the foreground activation branch (`bifpn`,
// `bi_decoder`, `bi_cls`: one channel, output `binary`) and the semantic refinement branch
// (`fgfpn`, `fg_decoder`, `fg_cls`: the classes, output `out`); each at stride 4, upsampled ×4
// (align_corners true). Its prediction is the joint probability p₀ ∝ (1 − σ(b))·s₀,
// p_c ∝ σ(b)·s_c, which its loss (`cp`, with small object mining) trains.
import type { Tensor } from '@geoseg/torch';
import { nn } from '@geoseg/torch';
import { ModelConfigError } from '../../../errors.js';
import { jointProbability } from '../../../losses/joint-probability.js';
import type { Encoder } from '../../encoders/encoder.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';
import { AsymmetricDecoder } from '../fpn/asymmetric-decoder.js';
import { FeaturePyramid } from '../fpn/feature-pyramid.js';
import { pyramidInputs, upsample4, type PyramidHeadOptions } from '../fpn/model.js';

export class FactSeg extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly fgfpn: FeaturePyramid;
  declare readonly bifpn: FeaturePyramid;
  declare readonly fg_decoder: AsymmetricDecoder;
  declare readonly bi_decoder: AsymmetricDecoder;
  declare readonly fg_cls: nn.Conv2d;
  declare readonly bi_cls: nn.Conv2d;
  readonly classes: number;

  constructor(encoder: Encoder, { classes, pyramidChannels = 256, decoderChannels = 128 }: PyramidHeadOptions) {
    super();
    if (classes < 2) throw new ModelConfigError('model: classes: FactSeg needs the background (class 0) and at least one foreground class');
    this.classes = classes;
    const levels = encoder.channels.slice(1, 5);
    this.registerModule('encoder', encoder);
    this.registerModule('fgfpn', new FeaturePyramid(levels, pyramidChannels));
    this.registerModule('bifpn', new FeaturePyramid(levels, pyramidChannels));
    this.registerModule('fg_decoder', new AsymmetricDecoder(pyramidChannels, decoderChannels));
    this.registerModule('bi_decoder', new AsymmetricDecoder(pyramidChannels, decoderChannels));
    this.registerModule('fg_cls', new nn.Conv2d(decoderChannels, classes, 1));
    this.registerModule('bi_cls', new nn.Conv2d(decoderChannels, 1, 1));
  }

  /** `out` (class logits) and `binary` (the foreground logit), in training and in inference. */
  protected run(x: Tensor): ModelOutputs {
    const features = pyramidInputs(this.encoder.forward(x));
    const out = upsample4(this.fg_cls.forward(this.fg_decoder.forward(this.fgfpn.forward(features))));
    const binary = upsample4(this.bi_cls.forward(this.bi_decoder.forward(this.bifpn.forward(features))));
    return { out, binary };
  }

  override probabilities(outputs: ModelOutputs): Tensor {
    return jointProbability(outputs.out, outputs.binary!);
  }
}
