import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@geoseg/torch';
import { ARCHITECTURES, architecture, architectureOptions, defaultObjective, createModel, pairIssue, validEncoders, adaptFirstConv, loadEncoderWeights, createEncoder, InputShapeError, ModelConfigError, useChannelsLast, useContiguousFormat, channelsLast } from '../src/index.js';

const CLASSES = 5;

// Every architecture with its defaults (resnet18, or its first encoder when it does not take that
// one), plus the options that change a model's structure.
const CASES: Record<string, unknown>[] = [
  ...Object.keys(ARCHITECTURES).map((arch) => {
    const accepted = (ARCHITECTURES[arch as keyof typeof ARCHITECTURES] as { encoders?: readonly string[] }).encoders;
    return { arch, encoder: !accepted || accepted.includes('resnet18') ? 'resnet18' : accepted[0], ...(arch === 'pspnet' ? { auxHead: true } : {}) };
  }),
  { arch: 'bisenet', encoder: 'resnet18', psp: { bins: [1, 2, 3, 6] }, fusion: 'split' },
  { arch: 'hrnet', encoder: 'hrnetv2_w18', pam: true },
  { arch: 'ccnet', encoder: 'resnet18', auxHead: false, recurrence: 1 },
  { arch: 'nonlocal', encoder: 'resnet18', auxHead: false },
  { arch: 'farseg', encoder: 'resnet18', sceneProjection: 'shared' },
  { arch: 'fpn', encoder: 'mobilenet_v2', decoderChannels: 64 },
  { arch: 'unetpp', encoder: 'resnet18', deepSupervision: true, prune: 2 },
  { arch: 'fastfcn', encoder: 'resnet18', head: 'aspp', width: 64 },
  { arch: 'unet', encoder: 'densenet121' },
  { arch: 'denseaspp', encoder: 'densenet121' },
  // the pyramid decoders on dilated encoders (deeper levels finer than their nominal stride)
  { arch: 'factseg', encoder: 'resnet18', outputStride: 16 },
  { arch: 'fpn', encoder: 'resnet18', outputStride: 8 },
  { arch: 'deeplabv3plus', encoder: 'resnest50' },
  { arch: 'deeplabv3plus', encoder: 'xception65' },
  { arch: 'fpn', encoder: 'hourglass52' },
];

for (const c of CASES) {
  const { arch, encoder, ...options } = c as { arch: string; encoder: string };
  test(`${arch}-${encoder}${Object.keys(options).length ? ` ${JSON.stringify(options)}` : ''}: logits at input size in train and eval, batch 1 to 4, gradients reach every parameter`, () => {
    torch.tidy(() => {
      torch.manualSeed(0);
      const config = { ...c, arch, encoder, classes: CLASSES };
      const model = createModel(config);
      // attention blocks start as the identity (gamma, or a norm's weight, at 0), which would hide their gradients
      for (const [name, p] of model.namedParameters()) {
        if (/(gamma|weight)$/.test(name) && p.abs().sum().item() === 0) torch.noGrad(() => p.fill_(0.5));
      }
      model.train();
      const x = torch.randn([2, 3, 64, 96]);
      const outputs = model.forwardOutputs(x);
      const sampled = architecture(arch).sampledOutputs ?? {};
      assert.deepEqual(Object.keys(outputs).sort(), [...Object.keys(defaultObjective(config)), ...Object.values(sampled)].sort(), 'the training outputs are the objective\'s (and the points of sampled ones)');
      // every output has the classes' channels but FactSeg's foreground logit; PointRend's points are [N, C, 1, P] at [N, P, 2]
      for (const [name, o] of Object.entries(outputs)) {
        const pointsOf = Object.entries(sampled).find(([, coords]) => coords === name)?.[0];
        if (name in sampled) assert.deepEqual(o.shape, [2, CLASSES, 1, architectureOptions(config).points as number], name);
        else if (pointsOf) assert.deepEqual(o.shape, [2, outputs[pointsOf]!.shape[3], 2], name);
        else assert.deepEqual(o.shape, [2, name === 'binary' ? 1 : CLASSES, 64, 96], name);
      }
      // every named output (aux heads, attention branches) contributes, as in the objective
      Object.values(outputs).map((o) => o.mean()).reduce((sum, m) => sum.add(m)).backward();
      // (a convolution's bias right before a batch norm in training mode — the attention gates' and
      // UNet++'s, as their references have them — has a gradient of exactly 0 in exact arithmetic,
      // nonzero only by rounding: for those, being in the graph is the test)
      const beforeBatchNorm = /(\.attention\.(W_g|W_x|psi)\.0|^conv\d_\d\.conv[12])\.bias$/;
      const reached = (name: string, g: torch.Tensor | null) => g !== null && (beforeBatchNorm.test(name) || g.abs().sum().item() !== 0);
      const missing = model.namedParameters().filter(([n, p]) => !reached(n, p.grad)).map(([n]) => n);
      assert.deepEqual(missing, [], 'every parameter gets a nonzero gradient');
      // batch size 1 trains too (pooling branches fall back to running statistics), and leaves them finite
      // (the hourglass recurses to stride 128, where batch norm needs 2 values: a 160 crop)
      const single = encoder.startsWith('hourglass') ? 160 : 64;
      assert.deepEqual(model.forward(torch.randn([1, 3, single, single])).shape, [1, CLASSES, single, single]);
      const broken = model.namedBuffers().filter(([n, b]) => n.includes('running_') && !b.isfinite().all().item()).map(([n]) => n);
      assert.deepEqual(broken, [], 'running statistics stay finite');
      model.eval();
      for (const n of [1, 3, 4]) assert.deepEqual(torch.noGrad(() => model.forward(torch.randn([n, 3, 32, 64]))).shape, [n, CLASSES, 32, 64]);
      model.dispose();
    });
  });
}

test('the registry says which encoder-architecture pairs are valid, and createModel refuses the others', () => {
  assert.deepEqual(validEncoders('hrnet'), ['hrnetv2_w18', 'hrnetv2_w32', 'hrnetv2_w48']);
  // output stride 8 or 16: every encoder that dilates (not HRNet, not the hourglasses)
  for (const arch of ['deeplabv3', 'deeplabv3plus', 'pspnet', 'denseaspp']) {
    assert.ok(!validEncoders(arch).some((e) => e.startsWith('hrnet') || e.startsWith('hourglass')), arch);
    assert.ok(['resnet18', 'mobilenet_v2', 'densenet121', 'resnest50', 'xception65', 'vgg16'].every((e) => validEncoders(arch).includes(e)), arch);
  }
  // output stride 32: every encoder
  for (const arch of ['unet', 'fpn', 'factseg', 'pointrend', 'unetpp']) assert.equal(validEncoders(arch).length, 16, arch);
  assert.equal(pairIssue('deeplabv3', 'hourglass52'), "encoder 'hourglass52' runs only at output stride 32; deeplabv3 runs at output stride 8");
  assert.equal(pairIssue('unet', 'hrnetv2_w18', 16), "encoder 'hrnetv2_w18' runs only at output stride 32; output stride 16 was asked");
  assert.equal(pairIssue('unet', 'hourglass104'), undefined);
  assert.throws(() => createModel({ arch: 'pspnet', encoder: 'hourglass52', classes: 2 }), (e: Error) => e instanceof ModelConfigError && /runs only at output stride 32; pspnet runs at output stride 8/.test(e.message));
  assert.throws(() => createModel({ arch: 'pointrend', encoder: 'resnet18', classes: 1 }), /pointrend: classes 1: the points' uncertainty compares the two best classes/);
  torch.tidy(() => {
    const hourglass = createModel({ arch: 'fpn', encoder: 'hourglass52', classes: 2 });
    hourglass.train();
    assert.throws(() => hourglass.forward(torch.randn([1, 3, 128, 128])), (e: Error) => e instanceof InputShapeError &&
      e.message === 'hourglass52: training on 1×128×128 leaves one value per channel at stride 128 for batch norm (use crops above 128 or a batch of 2 or more)');
    hourglass.dispose();
  });
  assert.throws(() => createModel({ arch: 'hrnet', encoder: 'resnet18', classes: 2 }), /hrnet does not take encoder 'resnet18' \(it takes: hrnetv2_w18, hrnetv2_w32, hrnetv2_w48\)/);
});

test('other encoders and band counts: mobilenet_v2 and vgg16_bn UNets, resnet50 DeepLabV3+, 4-band input', () => {
  torch.tidy(() => {
    const cases: [string, string, number][] = [['unet', 'mobilenet_v2', 3], ['fcn8s', 'vgg16_bn', 3], ['deeplabv3plus', 'resnet50', 4], ['deeplabv3plus', 'mobilenet_v2', 4]];
    for (const [arch, encoder, inChannels] of cases) {
      const model = createModel({ arch, encoder, classes: 3, inChannels, ...(arch === 'deeplabv3plus' ? { separable: true } : {}) });
      model.eval();
      const y = torch.noGrad(() => model.forward(torch.randn([1, inChannels, 64, 64])));
      assert.deepEqual(y.shape, [1, 3, 64, 64], `${arch}-${encoder}`);
      model.dispose();
    }
  });
});

test('PSPNet bins are configurable and change the pyramid', () => {
  torch.tidy(() => {
    const a = createModel({ arch: 'pspnet', encoder: 'resnet18', classes: 2, bins: [1, 3, 6] });
    const stages = a.namedParameters().filter(([n]) => /^ppm\.stages\.\d+\.1\.weight$/.test(n));
    assert.equal(stages.length, 3);
    assert.deepEqual(stages[0][1].shape, [Math.floor(512 / 3), 512, 1, 1]);
    a.dispose();
  });
});

test('clear errors for bad inputs and configurations', () => {
  torch.tidy(() => {
    const model = createModel({ arch: 'unet', encoder: 'resnet18', classes: 2 });
    assert.throws(() => model.forward(torch.randn([1, 3, 50, 64])), (e: Error) => e instanceof InputShapeError && /height 50 is not a positive multiple of 32 \(pad or crop to 64\)/.test(e.message));
    assert.throws(() => model.forward(torch.randn([1, 4, 64, 64])), /takes 3 bands, the input has 4/);
    assert.throws(() => model.forward(torch.randn([3, 64, 64])), /expected input \[N, bands, H, W\]/);
    assert.throws(() => createModel({ arch: 'segformer', encoder: 'resnet18', classes: 2 }), (e: Error) => e instanceof ModelConfigError && /unknown architecture 'segformer' \(known: unet/.test(e.message));
    assert.throws(() => createModel({ arch: 'unet', encoder: 'resnet152', classes: 2 }), /unknown encoder 'resnet152'/);
    assert.throws(() => createModel({ arch: 'unet', encoder: 'resnet18', classes: 0 }), /classes must be a positive integer/);
    model.dispose();
  });
});

test('an option that does not apply to the architecture is an error naming it; options are checked and defaulted', () => {
  assert.throws(() => createModel({ arch: 'unet', encoder: 'resnet18', classes: 2, bins: [1, 2] }),
    (e: Error) => e instanceof ModelConfigError && e.message === "model: 'bins': not an option of unet (its options: decoderChannels)");
  assert.throws(() => createModel({ arch: 'fcn8s', encoder: 'resnet18', classes: 2, auxHead: true }), /'auxHead': not an option of fcn8s \(it has no options\)/);
  assert.throws(() => createModel({ arch: 'unet', encoder: 'resnet18', classes: 2, decoderChannels: [8, 8] }), /'decoderChannels': Array must contain exactly 5 element/);
  assert.throws(() => createModel({ arch: 'pspnet', encoder: 'resnet18', classes: 2, bins: [0] }), /'bins.0': Number must be greater than 0/);
  assert.throws(() => createModel({ arch: 'unetpp', encoder: 'resnet18', classes: 2, prune: 2 }),
    (e: Error) => e instanceof ModelConfigError && e.message === "model: 'prune': 2 needs deepSupervision: true (a head on the pruned level)");
  assert.deepEqual(architectureOptions({ arch: 'pspnet', encoder: 'resnet18', classes: 2, bins: undefined }), { bins: [1, 2, 3, 6], auxHead: false });
  assert.deepEqual(defaultObjective({ arch: 'pspnet', encoder: 'resnet18', classes: 2, auxHead: true }), { out: { weight: 1 }, aux: { weight: 0.4 } });
  assert.deepEqual(defaultObjective({ arch: 'unet', encoder: 'resnet18', classes: 2 }), { out: { weight: 1 } });
});

test('every registered architecture has a description, a strict option schema and an objective over out', () => {
  for (const [name, a] of Object.entries(ARCHITECTURES)) {
    assert.ok(a.description.length > 0, name);
    assert.equal(a.options.safeParse({ notAnOption: 1 }).success, false, `${name}: unknown options are refused`);
    assert.ok(defaultObjective({ arch: name, encoder: 'resnet18', classes: 2 }).out, `${name}: out is supervised`);
  }
});

test('probabilities: softmax of out by default, in eval and through predictProbabilities', () => {
  torch.tidy(() => {
    torch.manualSeed(3);
    const model = createModel({ arch: 'fcn32s', encoder: 'resnet18', classes: 4 }).eval();
    const x = torch.randn([1, 3, 64, 64]);
    const p = torch.noGrad(() => model.predictProbabilities(x));
    const logits = torch.noGrad(() => model.forward(x));
    // exp(l_c) / Σ exp(l_k), written out
    const e = logits.sub(logits.amax([1], true)).exp();
    const expected = e.div(e.sum([1], true));
    assert.ok(p.sub(expected).abs().max().item() < 1e-6);
    model.dispose();
  });
});

test('dilated encoders keep the resolution (output stride 8 and 16)', () => {
  torch.tidy(() => {
    const x = torch.randn([1, 3, 64, 64]);
    for (const [os, deepest] of [[32, 2], [16, 4], [8, 8]] as const) {
      const enc = createEncoder('resnet50', { outputStride: os });
      enc.eval();
      const f = torch.noGrad(() => enc.forward(x));
      assert.deepEqual(f.map((t) => t.shape[2]), [32, 16, 8, Math.max(deepest, os === 8 ? 8 : 4), deepest]);
      assert.deepEqual(f.map((t) => t.shape[1]), [64, 256, 512, 1024, 2048]);
      enc.dispose();
    }
  });
});

test('first-conv adaptation keeps RGB kernels, fills extra bands with their mean, and preserves the response to flat images', () => {
  torch.tidy(() => {
    const w = torch.tensor([[[[1]], [[2]], [[6]]]]); // [1 out, 3 in, 1, 1]
    const a = adaptFirstConv(w, 4);
    // 3/4 scaling; the extra band gets mean 3
    assert.deepEqual(a.reshape([-1]).toArray(), [0.75, 1.5, 4.5, 2.25]);
    // a constant image gives the same response with 3 or 4 bands
    assert.equal(a.sum().item(), w.sum().item());
    const enc3 = createEncoder('resnet18');
    const enc5 = createEncoder('resnet18', { inChannels: 5 });
    loadEncoderWeights(enc5, { ...enc3.stateDict(), 'fc.weight': torch.zeros([1000, 512]), 'fc.bias': torch.zeros([1000]) });
    const w5 = enc5.conv1.weight;
    assert.deepEqual(w5.shape, [64, 5, 7, 7]);
    assert.ok(w5.narrow(1, 0, 3).allclose(enc3.conv1.weight.mul(3 / 5), 1e-6, 1e-7));
    enc3.dispose();
    enc5.dispose();
  });
});

test('inference memory savers change no number: image-by-image high-res stages, channels-last weights', () => {
  torch.tidy(() => {
    torch.manualSeed(5);
    const model = createModel({ arch: 'unet', encoder: 'resnet18', classes: 4, inChannels: 3 });
    model.eval();
    const x = torch.randn([3, 3, 64, 96]);
    const maxDiff = (a: torch.Tensor, b: torch.Tensor) => a.sub(b).abs().max().item() as number;
    torch.noGrad(() => {
      // a batch of 3 (stem and full-resolution decoder run image by image) = three batches of 1
      const batched = model.forward(x);
      const single = torch.cat([0, 1, 2].map((i) => model.forward(x.narrow(0, i, 1))), 0);
      assert.ok(maxDiff(batched, single) < 1e-4, `batched vs one by one: ${maxDiff(batched, single)}`);
      // channels-last weights and inputs: the same logits
      useChannelsLast(model);
      const cl = model.forward(channelsLast(x));
      assert.ok(maxDiff(cl, batched) < 1e-4, `channels-last: ${maxDiff(cl, batched)}`);
      useContiguousFormat(model);
      assert.ok(model.parameters().filter((p) => p.dim() === 4).every((p) => p.isContiguous()), 'weights back in the default layout');
    });
    // training mode keeps whole-batch statistics: the batch is not split there
    model.train();
    const a = model.forward(x), b = model.forward(x.narrow(0, 0, 1));
    assert.ok(maxDiff(a.narrow(0, 0, 1), b) > 1e-3, 'train-mode BN depends on the batch');
  });
});

test('attention blocks start as the identity: gamma 0 (DANet, CCNet, HRNet PAM) and the non-local output norm\'s weight 0', () => {
  torch.tidy(() => {
    const zeros = (config: Record<string, unknown>, names: string[]) => {
      const model = createModel({ encoder: 'resnet18', classes: 2, ...config } as never);
      const params = Object.fromEntries(model.namedParameters());
      for (const n of names) assert.equal(params[n].abs().sum().item(), 0, `${config.arch}: ${n}`);
      model.dispose();
    };
    zeros({ arch: 'danet' }, ['head.sa.gamma', 'head.sc.gamma']);
    zeros({ arch: 'ccnet' }, ['head.cca.gamma']);
    zeros({ arch: 'hrnet', encoder: 'hrnetv2_w18', pam: true }, ['pam.gamma']);
    zeros({ arch: 'nonlocal' }, ['nl_block.conv_out.1.weight']);
    // and an identity block passes its input through unchanged
    const nl = createModel({ arch: 'nonlocal', encoder: 'resnet18', classes: 2 } as never) as unknown as { nl_block: { eval(): void; forward(x: torch.Tensor): torch.Tensor } };
    nl.nl_block.eval();
    const x = torch.randn([1, 512, 4, 6]);
    assert.equal(torch.noGrad(() => nl.nl_block.forward(x)).sub(x).abs().max().item(), 0);
  });
});

test('FactSeg-R50, FarSeg-R50 and RefineNet-R50 with 16 classes have the reference designs\' parameter counts', () => {
  // Counted from the official code's modules (Junjue-Wang/FactSeg, Z-Zheng/FarSeg; the FactSeg
  // repository's RefineNet baseline) on torchvision's resnet50.
  for (const [arch, expected] of [['factseg', 33_446_609], ['farseg', 31_370_064], ['refinenet', 94_887_248]] as const) {
    const model = createModel({ arch, encoder: 'resnet50', classes: 16 });
    assert.equal(model.numParameters(), expected, arch);
    model.dispose();
  }
});

test('FactSeg predicts the joint probability of its two branches', () => {
  torch.tidy(() => {
    torch.manualSeed(5);
    const model = createModel({ arch: 'factseg', encoder: 'resnet18', classes: 4 }).eval();
    const x = torch.randn([1, 3, 64, 64]);
    const { p, outputs } = torch.noGrad(() => ({ p: model.predictProbabilities(x), outputs: model.forwardOutputs(x) }));
    assert.deepEqual(Object.keys(outputs).sort(), ['binary', 'out'], 'binary is an inference output too');
    // p₀ ∝ (1 − σ(b)) s₀, p_c ∝ σ(b) s_c, written out in probability space
    const s = outputs.out.softmax(1);
    const f = outputs.binary.sigmoid();
    const joint = torch.cat([s.narrow(1, 0, 1).mul(f.neg().add(1)), s.narrow(1, 1, 3).mul(f)], 1);
    const expected = joint.div(joint.sum([1], true));
    assert.ok(p.sub(expected).abs().max().item() < 1e-6);
    model.dispose();
  });
});
