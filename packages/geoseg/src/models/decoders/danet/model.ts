// DANet (Fu et al. 2019), the official DANetHead's names: two branches from the last stage, one
// with position attention (`sa`), one with channel attention (`sc`), each refined by a 3×3 conv
// and classified on its own (`conv6`, `conv7`: outputs `pam`, `cam`, supervised in training), and
// their sum classified as the model's output (`conv8`).
import { nn, type Tensor } from '@geoseg/torch';
import { ChannelAttention, PositionAttention } from '../../attention.js';
import { convBnRelu, resizeTo } from '../../blocks.js';
import type { Encoder } from '../../encoders/encoder.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';

const classifier = (c: number, classes: number) => new nn.Sequential(new nn.Dropout2d(0.1), new nn.Conv2d(c, classes, 1));

class DANetHead extends nn.Module {
  declare readonly conv5a: nn.Sequential;
  declare readonly conv5c: nn.Sequential;
  declare readonly sa: PositionAttention;
  declare readonly sc: ChannelAttention;
  declare readonly conv51: nn.Sequential;
  declare readonly conv52: nn.Sequential;
  declare readonly conv6: nn.Sequential;
  declare readonly conv7: nn.Sequential;
  declare readonly conv8: nn.Sequential;

  constructor(inC: number, classes: number) {
    super();
    const c = Math.floor(inC / 4);
    this.registerModule('conv5a', convBnRelu(inC, c, 3));
    this.registerModule('conv5c', convBnRelu(inC, c, 3));
    this.registerModule('sa', new PositionAttention(c));
    this.registerModule('sc', new ChannelAttention());
    this.registerModule('conv51', convBnRelu(c, c, 3));
    this.registerModule('conv52', convBnRelu(c, c, 3));
    this.registerModule('conv6', classifier(c, classes));
    this.registerModule('conv7', classifier(c, classes));
    this.registerModule('conv8', classifier(c, classes));
  }

  /** Scores of the sum, and in training of each branch. */
  scores(x: Tensor, training: boolean): { out: Tensor; pam?: Tensor; cam?: Tensor } {
    const pam = this.conv51.forward(this.sa.forward(this.conv5a.forward(x)));
    const cam = this.conv52.forward(this.sc.forward(this.conv5c.forward(x)));
    const out = this.conv8.forward(pam.add(cam));
    return training ? { out, pam: this.conv6.forward(pam), cam: this.conv7.forward(cam) } : { out };
  }

  forward(): never {
    throw new Error('DANetHead: call scores(x, training)');
  }
}

export class DANet extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly head: DANetHead;
  readonly classes: number;

  constructor(encoder: Encoder, { classes }: { classes: number }) {
    super();
    this.classes = classes;
    this.registerModule('encoder', encoder);
    this.registerModule('head', new DANetHead(encoder.channels[4], classes));
  }

  protected run(x: Tensor): ModelOutputs {
    const size = x.shape.slice(2);
    const s = this.head.scores(this.encoder.forward(x)[4], this.training);
    const outputs: ModelOutputs = { out: resizeTo(s.out, size) };
    if (s.pam && s.cam) Object.assign(outputs, { pam: resizeTo(s.pam, size), cam: resizeTo(s.cam, size) });
    return outputs;
  }
}
