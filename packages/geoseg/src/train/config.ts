// The run configuration (YAML or JSON), validated with zod. Everything a run does is here, so a
// run is reproduced from its config (and resumed from its checkpoint). A bad field is reported
// as one line: file, field path, the value, and what was expected.
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { adversarialSchema } from './adversarial.js';
import { augmentationSchema } from '../data/augment.js';
import { readDocument } from '../document.js';
import { GeosegError } from '../errors.js';
import { ENCODERS } from '../models/encoders/index.js';
import { optionIssues, pairIssue } from '../models/create.js';
import { ARCHITECTURE_NAMES, isArchitectureName } from '../models/registry.js';
import { EVAL_PRESETS } from '../evaluation/presets.js';

const positiveInt = z.number().int().positive();
const fraction = z.number().min(0).max(1);

// The model: the fields every architecture takes, plus the chosen architecture's own options,
// checked against its strict schema (an option that does not apply to it is an error naming it).
export const modelSchema = z.object({
  arch: z.string().default('unet').describe(`Architecture: ${ARCHITECTURE_NAMES.join(', ')} (\`geoseg models\` lists them with their options).`),
  encoder: z.string().default('resnet18').describe(`Encoder: ${Object.keys(ENCODERS).join(', ')}.`),
  encoderWeights: z.string().nullable().default(null).describe('Encoder weights to start from (safetensors or a PyTorch state dict), optional.'),
  init: z.string().nullable().default(null).describe('Fine-tuning: a geoseg checkpoint (or run folder: its best, else latest) whose raw weights the whole model starts from; its architecture, encoder, options, classes and bands must be this run\'s.'),
  outputStride: z.union([z.literal(8), z.literal(16), z.literal(32)]).optional().describe('The encoder\'s output stride, 8, 16 or 32, by dilation (default: the architecture\'s; 8 for DeepLab v1/v2/v3, PSPNet, OCRNet, DANet, CCNet and Non-local).'),
}).catchall(z.unknown()).superRefine((m, ctx) => {
  if (!isArchitectureName(m.arch)) {
    ctx.addIssue({ code: 'custom', path: ['arch'], message: `unknown architecture (known: ${ARCHITECTURE_NAMES.join(', ')})` });
    return;
  }
  if (!ENCODERS[m.encoder]) ctx.addIssue({ code: 'custom', path: ['encoder'], message: `unknown encoder (known: ${Object.keys(ENCODERS).join(', ')})` });
  else {
    const pair = pairIssue(m.arch, m.encoder, m.outputStride);
    if (pair) ctx.addIssue({ code: 'custom', path: ['encoder'], message: pair });
  }
  const { arch, encoder: _e, encoderWeights: _w, init: _i, outputStride: _o, ...own } = m;
  for (const issue of optionIssues(arch, own)) ctx.addIssue({ code: 'custom', ...issue });
}).describe('The network: architecture, encoder, and the architecture\'s own options (see Architectures below).');

const lossTerm = z.object({ name: z.string(), weight: z.number().default(1) }).passthrough();
const lossSpec = z.union([z.string(), z.array(lossTerm)]);

export const trainConfigSchema = z.object({
  out: z.string().describe('Output folder of the run (checkpoints, log); relative paths are relative to the config file.'),
  data: z.object({
    dataset: z.string().describe('A prepared dataset folder (geoseg prepare + geoseg split).'),
    crop: positiveInt.refine((v) => v % 32 === 0, 'a multiple of 32').default(256).describe('Square training crops cut from the tiles (multiple of 32).'),
    batch: positiveInt.default(8).describe('Crops per iteration.'),
    sampling: z.enum(['uniform', 'dataset']).default('uniform').describe('Tile sampling: uniform, or the per-tile weights `geoseg split --sampling` stored.'),
    rareCropCandidates: z.number().int().min(0).default(0).describe('Pick the crop with the most pixels of the dataset\'s rare classes among this many candidates (0: a random crop).'),
    scale: z.number().positive().nullable().default(null).describe('Divisor that brings raw values to about [0, 1] for photometric augmentation (default 255 for 8-bit data, else per-band mean + 3 std).'),
  }).strict().describe('Training data.'),
  model: modelSchema.default({}).describe('The network.'),
  loss: z.union([lossSpec, z.record(z.union([lossSpec, z.object({ weight: z.number().min(0).optional(), loss: lossSpec.optional() }).strict()]))]).optional()
    .describe('Default: the architecture\'s loss (cross-entropy; FactSeg: cp with small-object mining, FarSeg: annealing_focal). \'ce + 0.5 * dice\' or a list of { name, weight, ...options } for every output of the model at its architecture\'s weights; or per output: { out: \'ce + 0.5 * dice\', aux: { weight: 0.4, loss: ce } }.'),
  auxWeight: z.number().min(0).optional().describe('Shorthand for loss.aux.weight: the auxiliary head\'s weight (architectures with an `aux` output; default theirs, 0.4 for PSPNet).'),
  classWeights: z.union([z.enum(['none', 'inverse', 'median', 'softmax']), z.array(z.number().nonnegative())]).default('none').describe('Class weights for the losses that take them (ce, focal, ohem, noisy, cp, som; the others ignore them): \'none\', one of `geoseg stats`\' suggestions, or explicit numbers.'),
  optimizer: z.object({
    name: z.enum(['sgd', 'adam', 'adamw', 'radam']).default('adam').describe('Optimizer.'),
    lr: z.number().positive().default(1e-3).describe('Base learning rate.'),
    weightDecay: z.number().min(0).default(0).describe('L2 penalty (adamw: decoupled weight decay).'),
    momentum: z.number().min(0).default(0.9).describe('sgd momentum.'),
    nesterov: z.boolean().default(false).describe('sgd Nesterov momentum.'),
    lookahead: z.object({ k: positiveInt.default(5).describe('Fast steps per slow update.'), alpha: fraction.default(0.5).describe('Slow weights step toward the fast ones by alpha.') }).strict().nullable().default(null).describe('Wrap in Lookahead (k steps, alpha), e.g. RAdam + Lookahead ("Ranger").'),
    clipGradNorm: z.number().positive().nullable().default(null).describe('Clip the gradients\' joint L2 norm to this (torch.nn.utils.clip_grad_norm_; FactSeg\'s recipe: 35); the norm is logged.'),
    clipGradValue: z.number().positive().nullable().default(null).describe('Clamp every gradient element to [-v, v] (torch.nn.utils.clip_grad_value_).'),
    encoderLrMult: z.number().min(0).default(1).describe('Learning-rate multiplier of the encoder\'s parameters (e.g. 0.1 for pretrained weights).'),
    normDecayMult: z.number().min(0).default(1).describe('Weight-decay multiplier of normalization layers\' weights and biases (0: no decay; mmseg\'s norm_decay_mult).'),
    biasDecayMult: z.number().min(0).default(1).describe('Weight-decay multiplier of the other biases (mmseg\'s bias_decay_mult).'),
    paramGroups: z.array(z.object({
      match: z.string().min(1).describe('Parameter names, PyTorch\'s dotted state-dict names (`*`: any characters, e.g. `decoder.head.*`).'),
      lrMult: z.number().min(0).optional().describe('Learning-rate multiplier.'),
      decayMult: z.number().min(0).optional().describe('Weight-decay multiplier.'),
    }).strict()).default([]).describe('Rules by parameter name; the first matching rule overrides the multipliers above (a rule that matches nothing is an error).'),
  }).strict().default({}).describe('Optimizer.'),
  scheduler: z.object({
    name: z.enum(['none', 'poly', 'cosine', 'restarts', 'step', 'plateau']).default('none').describe('Learning-rate schedule over the run\'s iterations.'),
    power: z.number().min(0).default(0.9).describe('poly: lr · (1 − t/T)^power.'),
    t0: positiveInt.optional().describe('restarts: first cycle length (iterations; default a quarter of the schedule).'),
    tMult: positiveInt.default(1).describe('restarts: each cycle is tMult times longer than the last.'),
    stepSize: positiveInt.optional().describe('step: multiply the lr by gamma every stepSize iterations.'),
    gamma: z.number().positive().default(0.1).describe('step and plateau: the lr factor.'),
    patience: z.number().int().min(0).default(3).describe('plateau: evaluations without a val mIoU gain before the lr drops.'),
    minLr: z.number().min(0).default(0).describe('Lower bound of the lr (poly, cosine, restarts, plateau).'),
    warmup: z.number().int().min(0).default(0).describe('Linear warmup iterations before the schedule.'),
  }).strict().default({}).describe('Learning-rate schedule.'),
  augmentation: augmentationSchema.default({}).describe('Online augmentation of the training crops; a transform is off unless listed.'),
  consistency: z.object({
    weight: z.number().min(0).default(1).describe('Weight of the MSE between each view\'s class probabilities (mapped back) and the views\' mean.'),
    views: z.union([z.enum(['flip', 'd4']), z.array(z.enum(['lr', 'tb', 'lrtb', 'transpose', 'antitranspose', 'rot90', 'rot270']))]).default(['lr'])
      .describe('The other views of each crop besides itself: flip (lr, tb, lrtb), d4 (all eight), or a list of lr, tb, lrtb, transpose, antitranspose, rot90, rot270. Each costs one more forward and backward pass.'),
    mining: z.number().min(0).default(0).describe('View-disagreement hard-pixel mining: labelled pixels whose class differs between views get this much extra negative log-likelihood (0: off).'),
  }).strict().nullable().default(null).describe('Multi-view consistency (SegHZ): the crops under flips/rotations pulled to agree, a term added to the loss.'),
  adversarial: adversarialSchema.nullable().default(null).describe('Adversarial fine-tuning (Luc et al. 2016): a fully convolutional discriminator over (image, label map) pairs; its "fool the discriminator" term is added to the loss. Usually with model.init (a trained checkpoint) and a short run.'),
  train: z.object({
    iterations: positiveInt.optional().describe('The schedule\'s length in iterations (the same on every machine).'),
    minutes: z.number().positive().optional().describe('A time budget in minutes, periodic validation included (the final one follows). Alone: the schedule\'s length is fitted to it from the measured speed, so the schedule completes within the budget. With iterations: the schedule follows iterations and the clock may end the run first.'),
    logEvery: positiveInt.default(20).describe('Write a train line (mean loss, lr, it/s, data wait) to log.jsonl every N iterations.'),
    evalEvery: z.number().int().min(0).default(0).describe('Validate every N iterations (0: only at the end).'),
    checkpointEvery: positiveInt.default(200).describe('Save `latest` every N iterations (and at the end, on Ctrl-C, after each eval).'),
    seed: z.number().int().min(0).max(0xffffffff).default(0).describe('Seed of weights, batches and augmentation (a run is reproducible from it).'),
    threads: positiveInt.nullable().default(null).describe('libtorch threads (default: every core; a data-parallel worker: its share of them).'),
    precision: z.enum(['fp32', 'bf16-mixed', 'fp16-mixed']).default('fp32').describe('bf16-mixed: the forward pass under bfloat16 autocast (convolutions and matrix products in bfloat16), the loss in float32 on outputs cast back, weights, gradients and optimizer state in float32. fp16-mixed (CUDA only): the same in float16, with loss scaling (PyTorch\'s GradScaler: steps with inf/NaN gradients skipped, scale from 65536 halved on each, doubled after 2000 clean steps; checkpointed).'),
    channelsLast: z.boolean().default(false).describe('Weights, batches and activations in channels-last (NHWC) memory: oneDNN convolutions skip their layout reorders (this CPU, UNet-ResNet18 step: 0.9–1.0× the default layout\'s time in float32; ResNet-50 forward 0.8×; use it with bf16-mixed). The same numbers to float rounding.'),
    syncBatchNorm: z.boolean().default(false).describe('Data-parallel training: batch norm with the statistics of the global batch across the workers (PyTorch\'s SyncBatchNorm); no effect in one process.'),
    overlapGradients: z.boolean().default(true).describe('Data-parallel training: average the gradients in buckets whose all-reduce starts during backward (as PyTorch\'s DDP); false: one bucket, whose all-reduce starts when backward writes the last gradient (nothing left to overlap), to measure what the overlap buys.'),
    device: z.string().default('cpu').describe('libtorch device: cpu, cuda, cuda:1, …'),
    freezeEncoder: z.object({
      iterations: positiveInt.describe('Iterations with the encoder frozen (no gradients, no optimizer state); then everything trains.'),
      normStats: z.boolean().default(true).describe('Keep the encoder\'s normalization layers in eval mode while frozen (running statistics unchanged).'),
    }).strict().nullable().default(null).describe('Train the decoder alone first (e.g. over pretrained encoder weights).'),
    ema: z.object({
      decay: z.number().gt(0).lt(1).default(0.999).describe('average = decay · average + (1 − decay) · weights after every step.'),
    }).strict().nullable().default(null).describe('Keep an exponential moving average of the weights, validated and checkpointed beside them (eval/predict --weights ema).'),
  }).strict().refine((t) => t.iterations !== undefined || t.minutes !== undefined, 'give iterations or minutes (or both)').describe('The loop: length, logging, validation, checkpoints, seed, threads, device.'),
  // eval.preset fills in the protocol's window, stride, blend and tta (parseTrainConfig refuses them beside it)
  eval: z.preprocess((raw) => {
    const preset = raw && typeof raw === 'object' ? EVAL_PRESETS[(raw as { preset?: string }).preset ?? ''] : undefined;
    return preset ? { window: preset.window, stride: preset.stride, blend: preset.blend, tta: preset.tta, ...(raw as object) } : raw;
  }, z.object({
    preset: z.enum(Object.keys(EVAL_PRESETS) as [string, ...string[]]).nullable().default(null)
      .describe(`A published evaluation protocol (sets window, stride, blend and tta): ${Object.entries(EVAL_PRESETS).map(([k, p]) => `${k}, ${p.description}`).join('; ')}.`),
    window: positiveInt.refine((v) => v % 32 === 0, 'a multiple of 32').default(512).describe('Sliding-window size (multiple of 32).'),
    overlap: z.number().min(0).max(0.9).default(0.25).describe('Overlap of neighbouring windows, as a fraction of the window.'),
    stride: positiveInt.nullable().default(null).describe('Windows at this fixed stride, the last at the border, instead of spread evenly by overlap (at most the window).'),
    batch: positiveInt.default(4).describe('Windows per forward pass.'),
    blend: z.enum(['uniform', 'linear', 'hann']).default('hann').describe('Per-window weight where windows overlap.'),
    tta: z.union([z.enum(['none', 'flip', 'd4']), z.array(z.string())]).default('none').describe('Test-time augmentation: none, flip, d4, or a list of lr, tb, lrtb, transpose, antitranspose, rot90, rot270.'),
  }).strict().refine((e) => e.stride === null || e.stride <= e.window, { message: 'at most the window', path: ['stride'] })).default({}).describe('Validation during training (the same whole-scene sliding windows as geoseg eval).'),
}).strict();

export type TrainConfig = z.infer<typeof trainConfigSchema>;

/** One line for the first problem: `file: field.path: message (got value)`. */
export function formatZodIssue(where: string, error: z.ZodError, input: unknown): string {
  const issue = error.issues[0];
  const path = issue.path.join('.') || '(top level)';
  let value: unknown = input;
  for (const k of issue.path) value = value && typeof value === 'object' ? (value as Record<string | number, unknown>)[k] : undefined;
  const got = value === undefined ? '' : ` (got ${JSON.stringify(value)})`;
  const message = issue.code === 'unrecognized_keys' ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}` : issue.message;
  return `${where}: ${path}: ${message}${issue.code === 'unrecognized_keys' ? '' : got}`;
}

export function parseTrainConfig(doc: unknown, where: string, baseDir = '.'): TrainConfig {
  const rawEval = (doc as { eval?: Record<string, unknown> } | null)?.eval;
  if (rawEval && typeof rawEval === 'object' && rawEval.preset != null) {
    const set = ['window', 'overlap', 'stride', 'blend', 'tta'].find((k) => k in rawEval);
    if (set) throw new GeosegError(`${where}: eval.${set}: not with eval.preset (${String(rawEval.preset)} sets the windows, blending and TTA)`);
  }
  const parsed = trainConfigSchema.safeParse(doc);
  if (!parsed.success) throw new GeosegError(formatZodIssue(where, parsed.error, doc));
  const cfg = parsed.data;
  if (cfg.train.precision === 'fp16-mixed' && !cfg.train.device.startsWith('cuda')) {
    throw new GeosegError(`${where}: train.precision: fp16-mixed needs a CUDA device (train.device: cuda); on CPU use bf16-mixed`);
  }
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  cfg.out = abs(cfg.out);
  cfg.data.dataset = abs(cfg.data.dataset);
  if (cfg.model.encoderWeights) cfg.model.encoderWeights = abs(cfg.model.encoderWeights);
  if (cfg.model.init) cfg.model.init = abs(cfg.model.init);
  return cfg;
}

/** Read a run config file (.yaml, .yml or .json); relative paths inside are relative to it. */
export function readTrainConfig(path: string): TrainConfig {
  return parseTrainConfig(readDocument(path), path, dirname(resolve(path)));
}
