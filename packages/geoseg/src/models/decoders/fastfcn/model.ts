// FastFCN (Wu et al. 2019): a plain (output stride 32) encoder, joint pyramid upsampling to a
// stride-8 map (`jpu`), then the PSPNet head (`ppm` + `head`, as pspnet's) or the DeepLabV3 head
// (`head`: ASPP rates 12/24/36, 3×3 conv-BN-ReLU, classifier, as torchvision's DeepLabHead) — the
// dilated encoder's accuracy at a fraction of its cost.
import { nn, type Tensor } from '@geoseg/torch';
import { convBnRelu, resizeTo } from '../../blocks.js';
import type { Encoder } from '../../encoders/encoder.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';
import { ASPP } from '../deeplab/model.js';
import { PyramidPooling } from '../pspnet/model.js';
import { JointPyramidUpsampling } from './jpu.js';

export type FastFCNHead = 'psp' | 'aspp';

export interface FastFCNOptions {
  classes: number;
  head?: FastFCNHead;
  /** Channels of each JPU branch (the head sees 4 · width). */
  width?: number;
}

const BINS = [1, 2, 3, 6];

export class FastFCN extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly jpu: JointPyramidUpsampling;
  declare readonly ppm?: PyramidPooling;
  declare readonly head: nn.Sequential;
  readonly classes: number;

  constructor(encoder: Encoder, { classes, head = 'psp', width = 512 }: FastFCNOptions) {
    super();
    this.classes = classes;
    this.registerModule('encoder', encoder);
    const c = encoder.channels;
    this.registerModule('jpu', new JointPyramidUpsampling([c[2]!, c[3]!, c[4]!], width));
    const inC = this.jpu.outChannels;
    if (head === 'psp') {
      this.registerModule('ppm', new PyramidPooling(inC, BINS));
      const joined = inC + Math.floor(inC / BINS.length) * BINS.length;
      this.registerModule('head', new nn.Sequential(convBnRelu(joined, 512, 3), new nn.Dropout2d(0.1), new nn.Conv2d(512, classes, 1)));
    } else {
      this.registerModule('head', new nn.Sequential(new ASPP(inC, [12, 24, 36]), convBnRelu(256, 256, 3), new nn.Conv2d(256, classes, 1)));
    }
  }

  protected run(x: Tensor): ModelOutputs {
    const f = this.encoder.forward(x);
    const joint = this.jpu.forward(f[2]!, f[3]!, f[4]!);
    const features = this.ppm ? this.ppm.forward(joint) : joint;
    return { out: resizeTo(this.head.forward(features), x.shape.slice(2)) };
  }
}
