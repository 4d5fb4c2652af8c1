// The run configuration (YAML or JSON), validated with zod. Everything a run does is here, so a
// run is reproduced from its config (and resumed from its checkpoint). A bad field is reported
// as one line: file, field path, the value, and what was expected.
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { augmentationSchema } from '../data/augment.js';
import { readDocument } from '../document.js';
import { GeosegError } from '../errors.js';

const positiveInt = z.number().int().positive();
const fraction = z.number().min(0).max(1);

export const modelSchema = z.object({
  arch: z.string().default('unet'),
  encoder: z.string().default('resnet18'),
  /** Encoder weights to start from (safetensors or a PyTorch state dict), optional. */
  encoderWeights: z.string().nullable().default(null),
  outputStride: z.union([z.literal(8), z.literal(16), z.literal(32)]).optional(),
  decoderChannels: z.array(positiveInt).optional(),
  separable: z.boolean().optional(),
  bins: z.array(positiveInt).optional(),
  auxHead: z.boolean().optional(),
}).strict();

const lossTerm = z.object({ name: z.string(), weight: z.number().default(1) }).passthrough();

export const trainConfigSchema = z.object({
  /** Output folder of the run (checkpoints, log); relative paths are relative to the config file. */
  out: z.string(),
  data: z.object({
    /** A prepared dataset folder (geoseg prepare + geoseg split). */
    dataset: z.string(),
    /** Square training crops cut from the tiles (multiple of 32). */
    crop: positiveInt.refine((v) => v % 32 === 0, 'a multiple of 32').default(256),
    batch: positiveInt.default(8),
    /** Tile sampling: uniform, or the per-tile weights `geoseg split --sampling` stored. */
    sampling: z.enum(['uniform', 'dataset']).default('uniform'),
    /** Pick the crop with the most pixels of the dataset's rare classes among this many candidates (0: a random crop). */
    rareCropCandidates: z.number().int().min(0).default(0),
    /** Divisor that brings raw values to about [0, 1] for photometric augmentation (default 255 for 8-bit data, else per-band mean + 3 std). */
    scale: z.number().positive().nullable().default(null),
  }).strict(),
  model: modelSchema.default({}),
  /** 'ce + 0.5 * dice', or a list of { name, weight, ...options }. */
  loss: z.union([z.string(), z.array(lossTerm)]).default('ce'),
  /** Weight of the auxiliary head's loss (architectures with one). */
  auxWeight: z.number().min(0).default(0.4),
  /** Class weights for ce/focal: 'none', one of `geoseg stats`' suggestions, or explicit numbers. */
  classWeights: z.union([z.enum(['none', 'inverse', 'median', 'softmax']), z.array(z.number().nonnegative())]).default('none'),
  optimizer: z.object({
    name: z.enum(['sgd', 'adam', 'adamw', 'radam']).default('adam'),
    lr: z.number().positive().default(1e-3),
    weightDecay: z.number().min(0).default(0),
    momentum: z.number().min(0).default(0.9),
    nesterov: z.boolean().default(false),
    /** Wrap in Lookahead (k steps, alpha), e.g. RAdam + Lookahead ("Ranger"). */
    lookahead: z.object({ k: positiveInt.default(5), alpha: fraction.default(0.5) }).strict().nullable().default(null),
  }).strict().default({}),
  scheduler: z.object({
    name: z.enum(['none', 'poly', 'cosine', 'restarts', 'step', 'plateau']).default('none'),
    power: z.number().min(0).default(0.9),
    /** restarts: first cycle length (iterations) and growth. */
    t0: positiveInt.optional(),
    tMult: positiveInt.default(1),
    /** step: every `stepSize` iterations multiply by `gamma`; plateau: factor on no val mIoU gain for `patience` evals. */
    stepSize: positiveInt.optional(),
    gamma: z.number().positive().default(0.1),
    patience: z.number().int().min(0).default(3),
    minLr: z.number().min(0).default(0),
    warmup: z.number().int().min(0).default(0),
  }).strict().default({}),
  augmentation: augmentationSchema.default({}),
  train: z.object({
    /** Stop after this many iterations… */
    iterations: positiveInt.optional(),
    /** …or after this many minutes of training (evaluation time not counted), whichever comes first. */
    minutes: z.number().positive().optional(),
    logEvery: positiveInt.default(20),
    /** Validate every N iterations (0: only at the end). */
    evalEvery: z.number().int().min(0).default(0),
    /** Save `latest` every N iterations (and at the end, on Ctrl-C, after each eval). */
    checkpointEvery: positiveInt.default(200),
    seed: z.number().int().min(0).max(0xffffffff).default(0),
    /** libtorch threads (default: every core). */
    threads: positiveInt.nullable().default(null),
    device: z.string().default('cpu'),
  }).strict().refine((t) => t.iterations !== undefined || t.minutes !== undefined, 'give iterations or minutes (or both)'),
  eval: z.object({
    window: positiveInt.refine((v) => v % 32 === 0, 'a multiple of 32').default(512),
    overlap: z.number().min(0).max(0.9).default(0.25),
    batch: positiveInt.default(4),
    blend: z.enum(['uniform', 'linear', 'hann']).default('hann'),
    tta: z.union([z.enum(['none', 'flip', 'd4']), z.array(z.string())]).default('none'),
  }).strict().default({}),
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
  const parsed = trainConfigSchema.safeParse(doc);
  if (!parsed.success) throw new GeosegError(formatZodIssue(where, parsed.error, doc));
  const cfg = parsed.data;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  cfg.out = abs(cfg.out);
  cfg.data.dataset = abs(cfg.data.dataset);
  if (cfg.model.encoderWeights) cfg.model.encoderWeights = abs(cfg.model.encoderWeights);
  return cfg;
}

/** Read a run config file (.yaml, .yml or .json); relative paths inside are relative to it. */
export function readTrainConfig(path: string): TrainConfig {
  return parseTrainConfig(readDocument(path), path, dirname(resolve(path)));
}
