// The optimizer's parameter groups from a run config: a learning-rate multiplier for the encoder,
// weight-decay multipliers for normalization layers and biases (mmseg's paramwise_cfg), and rules
// by parameter name. Parameters with the same multipliers share a group; one group when nothing
// differs (the optimizer's state is then what it always was).
import { nn, type Tensor } from '@geoseg/torch';
import { GeosegError } from '../errors.js';
import type { SegmentationModel } from '../models/index.js';
import type { TrainConfig } from './config.js';

export interface ParamGroupPlan {
  lrMult: number;
  decayMult: number;
  /** The parameters' names, in the model's order. */
  names: string[];
  params: Tensor[];
}

/** Every parameter in one group, at the base lr and weight decay. */
export function oneGroup(params: Tensor[]): ParamGroupPlan[] {
  return [{ lrMult: 1, decayMult: 1, names: params.map((_, i) => String(i)), params }];
}

/** `*` matches any characters (dots included); the rest is literal; the whole name must match. */
export function nameMatcher(pattern: string): (name: string) => boolean {
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return (name) => re.test(name);
}

const isNorm = (m: nn.Module) => m instanceof nn.BatchNorm2d || m instanceof nn.GroupNorm;

export function planParamGroups(model: SegmentationModel, c: TrainConfig['optimizer'], where: string): ParamGroupPlan[] {
  const encoderParams = new Set(model.encoder.parameters());
  const normParams = new Set<Tensor>();
  for (const [, m] of model.namedModules()) if (isNorm(m)) for (const p of m.parameters()) normParams.add(p);
  const rules = c.paramGroups.map((r) => ({ ...r, matches: nameMatcher(r.match), used: false }));
  const groups: ParamGroupPlan[] = [];
  for (const [name, p] of model.namedParameters()) {
    let lrMult = encoderParams.has(p) ? c.encoderLrMult : 1;
    let decayMult = normParams.has(p) ? c.normDecayMult : name.endsWith('.bias') || name === 'bias' ? c.biasDecayMult : 1;
    const rule = rules.find((r) => r.matches(name));
    if (rule) {
      rule.used = true;
      lrMult = rule.lrMult ?? lrMult;
      decayMult = rule.decayMult ?? decayMult;
    }
    let group = groups.find((g) => g.lrMult === lrMult && g.decayMult === decayMult);
    if (!group) groups.push(group = { lrMult, decayMult, names: [], params: [] });
    group.names.push(name);
    group.params.push(p);
  }
  const unused = rules.findIndex((r) => !r.used);
  if (unused >= 0) throw new GeosegError(`${where}: optimizer.paramGroups.${unused}.match: '${rules[unused].match}' matches no parameter of the model, or only ones an earlier rule took (names look like ${model.namedParameters()[0]?.[0] ?? '?'})`);
  return groups;
}
