// train.channelsLast: every architecture computes the same training outputs and gradients from
// channels-last (NHWC) weights and batches as from the default layout (views, reshapes and
// attention products must not depend on the memory format). In float64: rounding differences
// between the layouts' kernels stay ~1e-12 even through training-mode batch norm over 2×2 maps,
// so any real layout error shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@geoseg/torch';
import { ARCHITECTURES, createModel, useChannelsLast, channelsLast, validEncoders } from '../src/index.js';
import { slowTest } from './helpers/tier.js';

const relativeDiff = (a: torch.Tensor, b: torch.Tensor) => (a.sub(b).abs().max().item() as number) / Math.max(1e-12, b.abs().max().item() as number);

/** The quick tier's architectures (a plain encoder–decoder, attention products, point sampling); the slow tier has every one. */
const QUICK = new Set(['unet', 'danet', 'pointrend']);

for (const arch of Object.keys(ARCHITECTURES)) {
  const encoder = validEncoders(arch).includes('resnet18') ? 'resnet18' : validEncoders(arch)[0]!;
  (QUICK.has(arch) ? test : (name: string, fn: () => void) => slowTest(name, {}, fn))(`${arch}-${encoder}: channels-last training gives the default layout's outputs and gradients`, () => {
    torch.tidy(() => {
      torch.manualSeed(1);
      const model = createModel({ arch, encoder, classes: 3 } as never).to('float64');
      // attention blocks start as the identity (gamma 0): open them so their products count
      for (const [name, p] of model.namedParameters()) {
        if (/(gamma|weight)$/.test(name) && p.abs().sum().item() === 0) torch.noGrad(() => p.fill_(0.5));
      }
      model.train();
      const size = encoder.startsWith('hourglass') ? 160 : 32;
      const x = torch.randn([2, 3, size, size], { dtype: 'float64' });
      const run = (input: torch.Tensor) => {
        torch.manualSeed(2); // PointRend draws its training points
        model.zeroGrad();
        const outputs = model.forwardOutputs(input);
        Object.values(outputs).map((o) => o.double().pow(2).mean()).reduce((s, m) => s.add(m)).backward();
        const grads = Object.fromEntries(model.namedParameters().map(([n, p]) => [n, p.grad!.clone()]));
        return { outputs, grads };
      };
      const plain = run(x);
      useChannelsLast(model);
      assert.ok(model.parameters().some((p) => p.dim() === 4 && !p.isContiguous()), 'the weights are channels-last');
      const cl = run(channelsLast(x));
      for (const [name, o] of Object.entries(plain.outputs)) {
        const d = relativeDiff(cl.outputs[name]!, o);
        assert.ok(d < 1e-9, `output ${name}: relative difference ${d}`);
      }
      // each gradient to its own scale, floored at 1e-6 of the largest (a convolution's bias before a
      // batch norm has a gradient of exactly 0 but for rounding)
      const largest = Math.max(...Object.values(plain.grads).map((g) => g.abs().max().item() as number));
      const worst = Object.entries(plain.grads).map(([n, g]) => {
        const scale = Math.max(g.abs().max().item() as number, 1e-6 * largest);
        return [n, (cl.grads[n]!.sub(g).abs().max().item() as number) / scale] as const;
      }).sort((a, b) => b[1] - a[1])[0]!;
      assert.ok(worst[1] < 1e-6, `gradient ${worst[0]}: relative difference ${worst[1]}`);
      model.dispose();
    });
  });
}
