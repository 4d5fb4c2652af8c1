// UNet (Ronneberger et al.) over any encoder: upsample, concatenate the skip of the same stride,
// two conv-BN-ReLU; five blocks from stride 32 back to stride 1.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { convBnRelu } from '../blocks.js';
import type { Encoder } from '../encoders/encoder.js';
import { SegmentationModel, type ModelOutput } from '../model.js';

class DecoderBlock extends nn.Module {
  declare readonly conv1: nn.Sequential;
  declare readonly conv2: nn.Sequential;

  constructor(inC: number, skipC: number, outC: number) {
    super();
    this.registerModule('conv1', convBnRelu(inC + skipC, outC, 3));
    this.registerModule('conv2', convBnRelu(outC, outC, 3));
  }

  forward(x: Tensor, skip?: Tensor): Tensor {
    const size = skip ? skip.shape.slice(2) : x.shape.slice(2).map((s) => s * 2);
    x = nn.functional.interpolate(x, { size: [size[0], size[1]], mode: 'nearest' });
    if (skip) x = torch.cat([x, skip], 1);
    return this.conv2.forward(this.conv1.forward(x));
  }
}

export interface UNetOptions {
  classes: number;
  /** Channels of the five decoder blocks, deepest first. */
  decoderChannels?: number[];
}

export class UNet extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly decoder: nn.ModuleList<DecoderBlock>;
  declare readonly head: nn.Conv2d;
  readonly classes: number;

  constructor(encoder: Encoder, { classes, decoderChannels = [256, 128, 64, 32, 16] }: UNetOptions) {
    super();
    if (decoderChannels.length !== 5) throw new Error(`UNet: decoderChannels needs 5 entries, got ${decoderChannels.length}`);
    this.classes = classes;
    this.registerModule('encoder', encoder);
    const skips = [encoder.channels[3], encoder.channels[2], encoder.channels[1], encoder.channels[0], 0];
    const blocks: DecoderBlock[] = [];
    let inC = encoder.channels[4];
    decoderChannels.forEach((outC, i) => {
      blocks.push(new DecoderBlock(inC, skips[i], outC));
      inC = outC;
    });
    this.registerModule('decoder', new nn.ModuleList(blocks));
    this.registerModule('head', new nn.Conv2d(inC, classes, 3, { padding: 1 }));
  }

  protected run(x: Tensor): ModelOutput {
    const f = this.encoder.forward(x);
    const skips = [f[3], f[2], f[1], f[0], undefined];
    let y = f[4];
    [...this.decoder].forEach((block, i) => {
      const next: Tensor = torch.tidy(() => block.forward(y, skips[i]));
      if (i > 0) y.dispose(); // free each decoder output once the next block has used it
      y = next;
    });
    return { out: this.head.forward(y) };
  }
}
