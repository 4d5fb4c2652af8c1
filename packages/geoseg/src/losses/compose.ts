// Weighted sums of losses from a spec (the training objective over a model's outputs is train/objective.ts).
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { ModelConfigError } from '../errors.js';
import { parseLossOptions } from './options.js';
import { LOSS_NAMES, LOSSES, type LossDefinition } from './registry.js';
import { parseLossSpec, type LossTerm } from './spec.js';

/** Options for every term that takes them (a term's own options win): ignoreIndex, classWeights, … */
export interface CommonLossOptions {
  ignoreIndex?: number;
  classWeights?: readonly number[];
  [option: string]: unknown;
}

export interface LossContext {
  /** Training progress in [0, 1], for losses that change over training (noisy). */
  progress?: number;
  /** Every output of the model at the target's size, for losses that read more than one (cp). */
  outputs?: Readonly<Record<string, Tensor>>;
}

export interface LossResult {
  /** Σ weight · term: the scalar to backpropagate. */
  total: Tensor;
  /** Each term's unweighted value, by loss name (the training objective adds other outputs' totals). */
  terms: Record<string, Tensor>;
}

export type CompositeLoss = (logits: Tensor, target: Tensor, ctx?: LossContext) => LossResult;

const optionsOf = (def: LossDefinition) => Object.keys(def.schema.shape);

/** The outputs a multi-output loss reads, or an error naming the one the model lacks. */
function readOutputs(loss: string, reads: readonly string[], outputs: LossContext['outputs'] = {}): Readonly<Record<string, Tensor>> {
  const missing = reads.find((name) => !outputs[name]);
  if (missing) throw new ModelConfigError(`loss ${loss}: reads the model output '${missing}' (outputs given: ${Object.keys(outputs).join(', ') || 'none'})`);
  return outputs;
}

/**
 * A loss from a spec ("ce + 0.5 * dice", or the array form with per-term options). Common options
 * go to every term whose loss has that option; an option no loss has is an error.
 */
export function createLoss(spec: string | readonly LossTerm[], common: CommonLossOptions = {}): CompositeLoss {
  const known = new Set(LOSS_NAMES.flatMap((n) => optionsOf(LOSSES[n])));
  for (const key of Object.keys(common)) {
    if (!known.has(key)) throw new ModelConfigError(`createLoss: unknown common option ${JSON.stringify(key)} (options of the losses: ${[...known].join(', ')})`);
  }
  const terms = parseLossSpec(spec).map((term) => {
    const def: LossDefinition = LOSSES[term.name];
    const own = optionsOf(def);
    const shared = Object.entries(common).filter(([key, value]) => own.includes(key) && value !== undefined);
    const options: Record<string, unknown> = { ...Object.fromEntries(shared), ...term.options };
    parseLossOptions(term.name, def.schema.partial(), options); // fail now, not at the first batch
    return { ...term, def, options, takesProgress: own.includes('progress') && !('progress' in options) };
  });
  return (logits, target, ctx = {}) => torch.tidy(() => {
    const values: Record<string, Tensor> = {};
    let total: Tensor | null = null;
    for (const term of terms) {
      const options = term.takesProgress && ctx.progress !== undefined ? { ...term.options, progress: ctx.progress } : term.options;
      const value = term.def.fn(logits, target, options, term.def.reads ? readOutputs(term.name, term.def.reads, ctx.outputs) : undefined);
      values[term.name] = value;
      const weighted = value.mul(term.weight);
      total = total ? total.add(weighted) : weighted;
    }
    return { total: total!, terms: values };
  });
}
