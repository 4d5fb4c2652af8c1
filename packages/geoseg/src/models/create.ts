// createModel({ arch, encoder, classes, inChannels, outputStride, ...options of the architecture }).
import { ModelConfigError } from '../errors.js';
import type { ArchitectureDefinition, Objective } from './architecture.js';
import { createEncoder, ENCODERS, type OutputStride } from './encoders/index.js';
import type { SegmentationModel } from './model.js';
import { ARCHITECTURE_NAMES, ARCHITECTURES, isArchitectureName } from './registry.js';

export interface ModelConfig {
  arch: string;
  encoder: string;
  classes: number;
  /** Input bands (default 3). */
  inChannels?: number;
  /** Overrides the architecture's default output stride. */
  outputStride?: OutputStride;
  /** The architecture's own options (`geoseg models` lists them); any other key is an error. */
  [option: string]: unknown;
}

/** The fields every architecture takes; everything else in a ModelConfig is the architecture's. */
export const COMMON_MODEL_FIELDS = ['arch', 'encoder', 'classes', 'inChannels', 'outputStride'] as const;

export function architecture(name: string): ArchitectureDefinition {
  if (!isArchitectureName(name)) throw new ModelConfigError(`unknown architecture '${name}' (known: ${ARCHITECTURE_NAMES.join(', ')})`);
  return ARCHITECTURES[name];
}

export interface OptionIssue {
  path: (string | number)[];
  message: string;
}

/**
 * What is wrong with an architecture's options (an empty list when nothing is): each option it
 * does not have, named, with the options it has; otherwise zod's first issue.
 */
export function optionIssues(arch: string, options: Record<string, unknown>): OptionIssue[] {
  const schema = architecture(arch).options;
  const parsed = schema.safeParse(options);
  if (parsed.success) {
    const issue = architecture(arch).check?.(parsed.data);
    return issue ? [issue] : [];
  }
  const issue = parsed.error.issues[0]!;
  if (issue.code !== 'unrecognized_keys') return [{ path: issue.path, message: issue.message }];
  const own = Object.keys(schema.shape);
  const has = own.length ? `its options: ${own.join(', ')}` : 'it has no options';
  return issue.keys.map((key) => ({ path: [key], message: `not an option of ${arch} (${has})` }));
}

/**
 * The architecture's options from a model config (the common fields removed), validated strictly
 * and with defaults filled in. Undefined values count as absent.
 */
export function architectureOptions(config: ModelConfig): Record<string, unknown> {
  const arch = architecture(config.arch);
  const own = Object.fromEntries(Object.entries(config).filter(([k, v]) => v !== undefined && !(COMMON_MODEL_FIELDS as readonly string[]).includes(k)));
  const [issue] = optionIssues(config.arch, own);
  if (issue) throw new ModelConfigError(`model: '${issue.path.join('.')}': ${issue.message}`);
  return arch.options.parse(own);
}

/** The architecture's default training objective for this config (its named outputs and weights). */
export function defaultObjective(config: ModelConfig): Objective {
  return architecture(config.arch).objective(architectureOptions(config));
}

/**
 * Why an architecture cannot run on an encoder (at an output stride, default the architecture's),
 * or undefined when the pair is valid: the architecture takes only some encoders (HRNet's), or
 * needs an output stride the encoder cannot reach by dilation (DeepLabV3 on HRNet or Hourglass).
 */
export function pairIssue(arch: string, encoder: string, outputStride?: OutputStride, a: ArchitectureDefinition = architecture(arch)): string | undefined {
  const e = ENCODERS[encoder];
  if (!e) return `unknown encoder '${encoder}' (known: ${Object.keys(ENCODERS).join(', ')})`;
  if (a.encoders && !a.encoders.includes(encoder)) return `${arch} does not take encoder '${encoder}' (it takes: ${a.encoders.join(', ')})`;
  const os = outputStride ?? a.outputStride;
  if (!e.outputStrides.includes(os)) {
    const why = outputStride === undefined ? `${arch} runs at output stride ${os}` : `output stride ${os} was asked`;
    return `encoder '${encoder}' runs only at output stride ${e.outputStrides.join(', ')}; ${why}`;
  }
  return undefined;
}

/** The encoders an architecture runs on at its default output stride. */
export function validEncoders(arch: string, a: ArchitectureDefinition = architecture(arch)): string[] {
  return Object.keys(ENCODERS).filter((e) => pairIssue(arch, e, undefined, a) === undefined);
}

/** Build a segmentation model by architecture and encoder names. */
export function createModel(config: ModelConfig): SegmentationModel {
  const arch = architecture(config.arch);
  if (config.outputStride !== undefined && ![8, 16, 32].includes(config.outputStride)) throw new ModelConfigError(`outputStride must be 8, 16 or 32, got ${config.outputStride}`);
  const issue = pairIssue(config.arch, config.encoder, config.outputStride);
  if (issue) throw new ModelConfigError(issue);
  if (!Number.isInteger(config.classes) || config.classes < 1) throw new ModelConfigError(`classes must be a positive integer, got ${config.classes}`);
  const inChannels = config.inChannels ?? 3;
  if (!Number.isInteger(inChannels) || inChannels < 1) throw new ModelConfigError(`inChannels must be a positive integer, got ${inChannels}`);
  const outputStride = config.outputStride ?? arch.outputStride;
  const options = architectureOptions(config);
  const encoder = createEncoder(config.encoder, { inChannels, outputStride });
  return arch.build(encoder, config.classes, options);
}
