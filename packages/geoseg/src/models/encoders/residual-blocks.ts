// The residual blocks of ResNet (torchvision's names: conv1, bn1, conv2, bn2, conv3, bn3,
// downsample), shared by the ResNet and HRNet encoders.
import { nn, type Tensor } from '@geoseg/torch';
import { pipe } from '../blocks.js';

export function conv3x3(inC: number, outC: number, stride = 1, dilation = 1): nn.Conv2d {
  return new nn.Conv2d(inC, outC, 3, { stride, padding: dilation, dilation, bias: false });
}

export function conv1x1(inC: number, outC: number, stride = 1): nn.Conv2d {
  return new nn.Conv2d(inC, outC, 1, { stride, bias: false });
}

export interface Block extends nn.Module {
  forward(x: Tensor): Tensor;
}

/** relu(out + identity), the identity (x, or its downsampled projection) made only now, and freed after. */
function addIdentity(out: Tensor, x: Tensor, downsample?: nn.Sequential): Tensor {
  const identity = downsample ? downsample.forward(x) : x;
  out.add_(identity).relu_();
  if (identity !== x) identity.dispose();
  return out;
}

export class BasicBlock extends nn.Module implements Block {
  static readonly expansion = 1;
  declare readonly conv1: nn.Conv2d;
  declare readonly bn1: nn.BatchNorm2d;
  declare readonly conv2: nn.Conv2d;
  declare readonly bn2: nn.BatchNorm2d;
  declare readonly downsample?: nn.Sequential;

  // Unlike torchvision, dilation is allowed here, so ResNet-18/34 can serve DeepLab at stride 8/16.
  constructor(inC: number, planes: number, stride: number, dilation: number, firstDilation: number, downsample: nn.Sequential | null) {
    super();
    this.registerModule('conv1', conv3x3(inC, planes, stride, firstDilation));
    this.registerModule('bn1', new nn.BatchNorm2d(planes));
    this.registerModule('conv2', conv3x3(planes, planes, 1, dilation));
    this.registerModule('bn2', new nn.BatchNorm2d(planes));
    if (downsample) this.registerModule('downsample', downsample);
  }

  forward(x: Tensor): Tensor {
    const out = pipe(x, (t) => this.conv1.forward(t), (t) => this.bn1.forward(t), (t) => t.relu_(), (t) => this.conv2.forward(t), (t) => this.bn2.forward(t));
    return addIdentity(out, x, this.downsample);
  }
}

export class Bottleneck extends nn.Module implements Block {
  static readonly expansion = 4;
  declare readonly conv1: nn.Conv2d;
  declare readonly bn1: nn.BatchNorm2d;
  declare readonly conv2: nn.Conv2d;
  declare readonly bn2: nn.BatchNorm2d;
  declare readonly conv3: nn.Conv2d;
  declare readonly bn3: nn.BatchNorm2d;
  declare readonly downsample?: nn.Sequential;

  // torchvision's v1.5 bottleneck: the stride sits on the 3x3 convolution.
  constructor(inC: number, planes: number, stride: number, dilation: number, firstDilation: number, downsample: nn.Sequential | null) {
    super();
    const width = planes;
    this.registerModule('conv1', conv1x1(inC, width));
    this.registerModule('bn1', new nn.BatchNorm2d(width));
    this.registerModule('conv2', conv3x3(width, width, stride, firstDilation));
    this.registerModule('bn2', new nn.BatchNorm2d(width));
    this.registerModule('conv3', conv1x1(width, planes * 4));
    this.registerModule('bn3', new nn.BatchNorm2d(planes * 4));
    if (downsample) this.registerModule('downsample', downsample);
    void dilation;
  }

  forward(x: Tensor): Tensor {
    const out = pipe(x, (t) => this.conv1.forward(t), (t) => this.bn1.forward(t), (t) => t.relu_(), (t) => this.conv2.forward(t), (t) => this.bn2.forward(t),
      (t) => t.relu_(), (t) => this.conv3.forward(t), (t) => this.bn3.forward(t));
    return addIdentity(out, x, this.downsample);
  }
}

