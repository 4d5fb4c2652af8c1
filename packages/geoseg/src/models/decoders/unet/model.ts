// UNet (Ronneberger et al.) over any encoder: upsample, concatenate the skip of the same stride,
// two conv-BN-ReLU; five blocks from stride 32 back to stride 1. Attention U-Net gates each skip
// by the upsampled decoder features first (attention-gate.ts).
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';
import { convBnRelu, imageByImage } from '../../blocks.js';
import type { Encoder } from '../../encoders/encoder.js';
import { SegmentationModel, type ModelOutputs } from '../../model.js';
import { AttentionGate } from './attention-gate.js';

class DecoderBlock extends nn.Module {
  declare readonly attention?: AttentionGate;
  declare readonly conv1: nn.Sequential;
  declare readonly conv2: nn.Sequential;

  constructor(inC: number, skipC: number, outC: number, attention = false) {
    super();
    if (attention && skipC > 0) this.registerModule('attention', new AttentionGate(inC, skipC));
    this.registerModule('conv1', convBnRelu(inC + skipC, outC, 3));
    this.registerModule('conv2', convBnRelu(outC, outC, 3));
  }

  forward(x: Tensor, skip?: Tensor): Tensor {
    const size = skip ? skip.shape.slice(2) : x.shape.slice(2).map((s) => s * 2);
    // Each intermediate is freed as soon as it is used: at full resolution they are the largest tensors.
    const up = nn.functional.interpolate(x, { size: [size[0], size[1]], mode: 'nearest' });
    const gated = skip && this.attention ? this.attention.forward(up, skip) : skip;
    const joined = gated ? torch.cat([up, gated], 1) : up;
    if (gated !== skip) gated?.dispose();
    if (joined !== up) up.dispose();
    const y = this.conv1.forward(joined);
    joined.dispose();
    const out = this.conv2.forward(y);
    y.dispose();
    return out;
  }
}

export interface UNetOptions {
  classes: number;
  /** Channels of the five decoder blocks, deepest first. */
  decoderChannels?: number[];
  /** Attention U-Net: an attention gate on every skip. */
  attention?: boolean;
}

export class UNet extends SegmentationModel {
  declare readonly encoder: Encoder;
  declare readonly decoder: nn.ModuleList<DecoderBlock>;
  declare readonly head: nn.Conv2d;
  readonly classes: number;

  constructor(encoder: Encoder, { classes, decoderChannels = [256, 128, 64, 32, 16], attention = false }: UNetOptions) {
    super();
    if (decoderChannels.length !== 5) throw new Error(`UNet: decoderChannels needs 5 entries, got ${decoderChannels.length}`);
    this.classes = classes;
    this.registerModule('encoder', encoder);
    const skips = [encoder.channels[3], encoder.channels[2], encoder.channels[1], encoder.channels[0], 0];
    const blocks: DecoderBlock[] = [];
    let inC = encoder.channels[4];
    decoderChannels.forEach((outC, i) => {
      blocks.push(new DecoderBlock(inC, skips[i], outC, attention));
      inC = outC;
    });
    this.registerModule('decoder', new nn.ModuleList(blocks));
    this.registerModule('head', new nn.Conv2d(inC, classes, 3, { padding: 1 }));
  }

  protected run(x: Tensor): ModelOutputs {
    const f = this.encoder.forward(x);
    const skips = [f[3], f[2], f[1], f[0], undefined];
    const blocks = [...this.decoder];
    // Blocks from this one on work at strides 4, 2 and 1, where activations are largest.
    const highRes = blocks.length - 3;
    const runBlocks = (from: number, to: number, y: Tensor, skip: (i: number) => Tensor | undefined): Tensor => {
      for (let i = from; i < to; i++) {
        const next: Tensor = torch.tidy(() => blocks[i].forward(y, skip(i)));
        y.dispose(); // free each input (encoder features, then decoder outputs) once it is used
        y = next;
      }
      return y;
    };
    const low = runBlocks(0, highRes, f[4], (i) => skips[i]);
    for (let i = 0; i < highRes; i++) skips[i]!.dispose();
    const N = x.shape[0];
    const finish = (y: Tensor, skip: (i: number) => Tensor | undefined) => {
      const z = runBlocks(highRes, blocks.length, y, skip);
      const out = this.head.forward(z);
      z.dispose();
      return out;
    };
    let out: Tensor;
    if (this.training || N === 1) {
      out = finish(low, (i) => skips[i]);
    } else {
      // Inference: the high-resolution blocks and the head take one image at a time; batch
      // normalization uses running statistics, so the result is the same, at a fraction of the
      // peak memory of a large batch.
      out = imageByImage(N, (n) => finish(low.narrow(0, n, 1), (i) => skips[i]?.narrow(0, n, 1)));
      low.dispose();
    }
    for (let i = highRes; i < skips.length; i++) skips[i]?.dispose();
    return { out };
  }
}
