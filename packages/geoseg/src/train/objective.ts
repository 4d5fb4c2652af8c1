// The training objective: Σ over a model's named outputs of weight · loss(output, target). The
// architecture declares its outputs and their default weights (models/architecture.ts); the run
// config's `loss` gives the loss, or overrides it per output:
//   loss: 'ce + 0.5 * dice'                                   every output, at its default weight
//   loss: { out: 'ce + 0.5 * dice', aux: { weight: 0.2, loss: ce } }   per output
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { ModelConfigError } from '../errors.js';
import { createLoss, type CommonLossOptions, type CompositeLoss, type LossContext, type LossResult } from '../losses/compose.js';
import { LOSS_NAMES, LOSSES } from '../losses/registry.js';
import { parseLossSpec, type LossTerm } from '../losses/spec.js';
import type { Objective } from '../models/architecture.js';
import { architecture, defaultObjective, type ModelConfig } from '../models/create.js';
import { pointSample } from '../models/point-sample.js';
import type { TrainConfig } from './config.js';

export type LossSpec = string | readonly LossTerm[];
/** One output's entry in the per-output form: a loss spec, or its weight and/or loss. */
export type OutputLossSpec = LossSpec | { weight?: number; loss?: LossSpec };
/** The run config's `loss`: one spec for every output, or an entry per output. */
export type RunLossSpec = LossSpec | Readonly<Record<string, OutputLossSpec>>;

export type ObjectiveLoss = (outputs: Readonly<Record<string, Tensor>>, target: Tensor, ctx?: LossContext) => LossResult;

interface Term {
  output: string;
  weight: number;
  loss: CompositeLoss;
  /** Other outputs its losses read. */
  reads: readonly string[];
}

/** The losses that read an output, for error messages ('cp'). */
const readersOf = (output: string) => LOSS_NAMES.filter((n) => LOSSES[n].reads?.includes(output)).join(', ');

const isSpec = (v: unknown): v is LossSpec => typeof v === 'string' || Array.isArray(v);

/** What the objective needs to know of the model's outputs besides their defaults (architecture.ts). */
export interface OutputShapes {
  predictsWith?: readonly string[];
  sampledOutputs?: Readonly<Record<string, string>>;
}

/**
 * The objective of a model from its architecture's defaults and the run's loss spec. `where` names
 * the config field in errors ('loss'). The result's terms: the `out` loss's own terms by loss name
 * (ce, dice, …) and each other output's total under the output's name.
 */

export function createObjective(defaults: Objective, spec: RunLossSpec | undefined, common: CommonLossOptions = {}, where = 'loss', { predictsWith = [], sampledOutputs = {} }: OutputShapes = {}): ObjectiveLoss {
  const outputs = Object.keys(defaults);
  const perOutput: Readonly<Record<string, OutputLossSpec>> = spec === undefined || isSpec(spec) ? {} : spec;
  for (const name of Object.keys(perOutput)) {
    if (!outputs.includes(name)) throw new ModelConfigError(`${where}.${name}: the model has no output '${name}' (its outputs: ${outputs.join(', ')})`);
  }
  const entryOf = (name: string) => perOutput[name];
  const lossOf = (e: OutputLossSpec | undefined) => (e === undefined ? undefined : isSpec(e) ? e : e.loss);
  // The run's loss: the one spec, or the `out` entry's, or the architecture's (cross-entropy when none gives one).
  const runLoss: LossSpec = isSpec(spec) ? spec : lossOf(entryOf('out')) ?? defaults.out?.loss ?? 'ce';
  const terms: Term[] = [];
  for (const output of outputs) {
    const entry = entryOf(output);
    const weight = entry !== undefined && !isSpec(entry) && entry.weight !== undefined ? entry.weight : defaults[output]!.weight;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new ModelConfigError(`${where}.${output}.weight: ${JSON.stringify(weight)}: expected a finite number >= 0`);
    }
    // A sampled output's head (PointRend's point head) refines the prediction: untrained, it would
    // overwrite the most uncertain pixels with its initial weights.
    if (weight === 0 && output in sampledOutputs) {
      throw new ModelConfigError(`${where}.${output}.weight: 0: the output '${output}' trains the head that refines the prediction (give it a weight > 0)`);
    }
    if (weight === 0) continue;
    if (predictsWith.includes(output)) {
      throw new ModelConfigError(`${where}.${output}: the output '${output}' takes no loss of its own (a loss on out that reads it trains it: ${readersOf(output)})`);
    }
    const lossSpec = output === 'out' ? runLoss : lossOf(entry) ?? defaults[output]!.loss ?? runLoss;
    const parsed = parseLossSpec(lossSpec);
    for (const term of parsed) {
      const missing = (LOSSES[term.name].reads ?? []).find((name) => !outputs.includes(name));
      if (missing) throw new ModelConfigError(`${where}: ${term.name} (on output '${output}') reads the output '${missing}', which the model does not have (its outputs: ${outputs.join(', ')})`);
    }
    terms.push({ output, weight, loss: createLoss(lossSpec, common), reads: parsed.flatMap((t) => LOSSES[t.name].reads ?? []) });
  }
  if (terms.length === 0) throw new ModelConfigError(`${where}: every output has weight 0 (nothing to train)`);
  // An output the prediction uses but no loss trains would predict with its initial weights.
  for (const name of predictsWith) {
    if (!terms.some((t) => t.reads.includes(name))) {
      throw new ModelConfigError(`${where}: the model predicts with its output '${name}', which this loss does not train (put a loss that reads it on out: ${readersOf(name)}; e.g. 'cp + 0.5 * dice')`);
    }
  }
  return (modelOutputs, target, ctx = {}) => torch.tidy(() => {
    let total: Tensor | null = null;
    let parts: Record<string, Tensor> = {};
    const coordinates = new Set(Object.values(sampledOutputs));
    const dense = Object.entries(modelOutputs).filter(([name]) => !coordinates.has(name) && !(name in sampledOutputs));
    const sized = Object.fromEntries(dense.map(([name, t]) => [name, atTargetSize(t, target)]));
    for (const term of terms) {
      const pointsAt = sampledOutputs[term.output];
      const logits = pointsAt === undefined ? sized[term.output] : modelOutputs[term.output];
      if (!logits) throw new ModelConfigError(`${where}: the model returned no output '${term.output}' (is it in training mode?)`);
      const points = pointsAt === undefined ? undefined : modelOutputs[pointsAt];
      if (pointsAt !== undefined && !points) throw new ModelConfigError(`${where}: the model returned '${term.output}' without its points '${pointsAt}'`);
      const labels = points === undefined ? target : labelsAt(target, points);
      const result = term.loss(logits, labels, { ...ctx, outputs: sized });
      // A weight of 1 adds the loss itself (no multiplication), so one-output runs are unchanged.
      const weighted = term.weight === 1 ? result.total : result.total.mul(term.weight);
      total = total ? total.add(weighted) : weighted;
      parts = term.output === 'out' ? { ...parts, ...result.terms } : { ...parts, [term.output]: result.total };
    }
    return { total: total!, terms: parts };
  });
}

/** The label [N, H, W] at points [N, P, 2] ((x, y) in [0, 1], nearest pixel) → [N, 1, P]. */
export function labelsAt(target: Tensor, points: Tensor): Tensor {
  return torch.tidy(() => pointSample(target.unsqueeze(1).float(), points, 'nearest').long());
}

/** Logits at a lower resolution than the target upsampled to it (bilinear, align_corners false). */
function atTargetSize(logits: Tensor, target: Tensor): Tensor {
  const [h, w] = [target.shape[1]!, target.shape[2]!];
  return logits.shape[2] === h && logits.shape[3] === w ? logits : torch.upsampleBilinear2d(logits, [h, w], false);
}

/**
 * The objective of a run: its model's default objective, `auxWeight` (the shorthand for
 * loss.aux.weight) applied, then its `loss`. `where` names the config file in errors.
 */
export function runObjective(cfg: Pick<TrainConfig, 'loss' | 'auxWeight'>, model: ModelConfig, common: CommonLossOptions, where: string): ObjectiveLoss {
  const defaults = { ...defaultObjective(model) };
  if (cfg.auxWeight !== undefined) {
    if (!defaults.aux) throw new ModelConfigError(`${where}: auxWeight: ${model.arch} has no aux output (its outputs: ${Object.keys(defaults).join(', ')})`);
    const perOutput = cfg.loss === undefined || isSpec(cfg.loss) ? undefined : cfg.loss.aux;
    if (perOutput !== undefined && !isSpec(perOutput) && perOutput.weight !== undefined) {
      throw new ModelConfigError(`${where}: auxWeight and loss.aux.weight both set the aux weight (keep one)`);
    }
    defaults.aux = { ...defaults.aux, weight: cfg.auxWeight };
  }
  const { predictsWith, sampledOutputs } = architecture(model.arch);
  return createObjective(defaults, cfg.loss as RunLossSpec | undefined, common, `${where}: loss`, { predictsWith, sampledOutputs });
}
