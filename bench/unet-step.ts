// One UNet training step (forward, cross-entropy, backward, Adam step) at 4x3x256x256 through the
// TS API, against the same model in Python PyTorch. 2M parameters: 4 down / 4 up, 16 base
// channels, BatchNorm, bilinear upsampling. Written with functional ops and hand-held parameters,
// to measure the op layer itself; the optimizer is torch.optim.Adam.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { PythonServer } from './python.js';

interface BatchNorm { weight: Tensor; bias: Tensor; mean: Tensor; variance: Tensor }
interface ConvBn { weight: Tensor; bn: BatchNorm }
type DoubleConv = [ConvBn, ConvBn];

function kaiming(cout: number, cin: number, k: number): Tensor {
  return torch.randn([cout, cin, k, k]).mul(Math.sqrt(2 / (cin * k * k))).requiresGrad_(true);
}

function convBn(cin: number, cout: number): ConvBn {
  return {
    weight: kaiming(cout, cin, 3),
    bn: {
      weight: torch.ones([cout], { requiresGrad: true }), bias: torch.zeros([cout], { requiresGrad: true }),
      mean: torch.zeros([cout]), variance: torch.ones([cout]),
    },
  };
}

function doubleConv(cin: number, cout: number): DoubleConv {
  return [convBn(cin, cout), convBn(cout, cout)];
}

// Each block runs in its own tidy() so JS drops its intermediates as soon as the block ends (the
// autograd graph keeps what backward needs), the way Python's reference counting does.
function applyDoubleConv(block: DoubleConv, x: Tensor): Tensor {
  return torch.tidy(() => {
    for (const { weight, bn } of block) {
      x = torch.conv2d(x, weight, null, 1, 1);
      x = torch.batchNorm(x, bn.weight, bn.bias, bn.mean, bn.variance, true, 0.1, 1e-5, true).relu_();
    }
    return x;
  });
}

export class UNet {
  readonly downs: DoubleConv[];
  readonly ups: DoubleConv[];
  readonly head: { weight: Tensor; bias: Tensor };

  constructor(inChannels = 3, classes = 6, base = 16) {
    const ch = [0, 1, 2, 3, 4].map((i) => base * 2 ** i);
    this.downs = [doubleConv(inChannels, ch[0]), ...[0, 1, 2, 3].map((i) => doubleConv(ch[i], ch[i + 1]))];
    this.ups = [3, 2, 1, 0].map((i) => doubleConv(ch[i + 1] + ch[i], ch[i]));
    this.head = { weight: kaiming(classes, ch[0], 1), bias: torch.zeros([classes], { requiresGrad: true }) };
  }

  parameters(): Tensor[] {
    const blocks = [...this.downs, ...this.ups].flat();
    return [...blocks.flatMap((c) => [c.weight, c.bn.weight, c.bn.bias]), this.head.weight, this.head.bias];
  }

  forward(x: Tensor): Tensor {
    const skips: Tensor[] = [];
    this.downs.forEach((down, i) => {
      x = applyDoubleConv(down, i === 0 ? x : torch.maxPool2d(x, [2, 2]));
      skips.push(x);
    });
    skips.pop();
    for (const up of this.ups) {
      const skip = skips.pop()!;
      x = torch.tidy(() => applyDoubleConv(up, torch.cat([torch.upsampleBilinear2d(x, skip.shape.slice(2), false), skip], 1)));
    }
    return torch.conv2d(x, this.head.weight, this.head.bias);
  }
}

export interface UnetStepResult {
  parameters: number;
  tsMedianMs: number;
  pythonMedianMs: number;
  ratio: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function unetStep(threads: number, rounds = 3, stepsPerRound = 3): Promise<UnetStepResult> {
  torch.setNumThreads(threads);
  torch.manualSeed(0);
  const model = new UNet();
  const opt = new torch.optim.Adam(model.parameters(), { lr: 1e-3 });
  const x = torch.randn([4, 3, 256, 256]);
  const y = torch.randint(0, 6, [4, 256, 256]);
  const step = () => torch.tidy(() => {
    opt.zeroGrad();
    const loss = torch.crossEntropyLoss(model.forward(x), y);
    loss.backward();
    opt.step();
    return loss.item();
  });
  const parameters = model.parameters().reduce((s, p) => s + p.numel(), 0);
  const py = new PythonServer('unet_step.py', [String(threads)]);
  const ready = JSON.parse(await py.read()) as { parameters: number };
  if (ready.parameters !== parameters) throw new Error(`bench: the TS UNet has ${parameters} parameters, the Python one ${ready.parameters}`);
  step(); // warm-ups (the Python side warmed up before saying ready)
  step();
  const ts: number[] = [];
  const python: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (let s = 0; s < stepsPerRound; s++) {
      const t = process.hrtime.bigint();
      step();
      ts.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    python.push(...(JSON.parse(await py.ask(String(stepsPerRound))) as number[]).map((s) => s * 1000));
  }
  py.close();
  const tsMedianMs = median(ts);
  const pythonMedianMs = median(python);
  return { parameters, tsMedianMs, pythonMedianMs, ratio: tsMedianMs / pythonMedianMs };
}
