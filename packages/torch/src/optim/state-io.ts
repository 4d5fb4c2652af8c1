// Optimizer state dicts to files: the tensors go to safetensors, everything else to JSON.
//
//   const { tensors, json } = optim.optimizerStateToTensors(opt.stateDict());
//   torch.saveSafetensors('optimizer.safetensors', tensors);
//   writeFileSync('optimizer.json', JSON.stringify(json));
//   …
//   opt.loadStateDict(optim.optimizerStateFromTensors(torch.loadSafetensors('optimizer.safetensors'),
//                                                     JSON.parse(readFileSync('optimizer.json', 'utf8'))));
import { Tensor } from '../tensor.js';
import type { OptimizerStateDict, ParamState } from './optimizer.js';

/**
 * Split a state dict into its tensors, named `state.<param>.<name>` (`state.3.exp_avg`), and the
 * rest as JSON-safe data (numbers such as `step`, the groups' options, Lookahead's counter).
 */
export function optimizerStateToTensors(sd: OptimizerStateDict): { tensors: Record<string, Tensor>; json: OptimizerStateDict } {
  const tensors: Record<string, Tensor> = {};
  const state: Record<number, ParamState> = {};
  for (const [i, s] of Object.entries(sd.state)) {
    state[Number(i)] = {};
    for (const [name, v] of Object.entries(s)) {
      if (v instanceof Tensor) tensors[`state.${i}.${name}`] = v;
      else state[Number(i)][name] = v;
    }
  }
  return { tensors, json: { ...structuredClone({ ...sd, state: {} }), state } };
}

/** Put a state dict back together from optimizerStateToTensors' two halves. */
export function optimizerStateFromTensors(tensors: Record<string, Tensor>, json: OptimizerStateDict): OptimizerStateDict {
  if (json === null || typeof json !== 'object' || json.state === null || typeof json.state !== 'object' || !Array.isArray(json.paramGroups)) {
    throw new TypeError('optimizerStateFromTensors: the JSON half must be { state, paramGroups } as made by optimizerStateToTensors');
  }
  const state: Record<number, ParamState> = {};
  for (const [i, s] of Object.entries(json.state)) state[Number(i)] = { ...s };
  for (const [key, t] of Object.entries(tensors)) {
    const m = /^state\.(\d+)\.(.+)$/.exec(key);
    if (!m) throw new Error(`optimizerStateFromTensors: unexpected tensor name '${key}' (expected state.<param>.<name>)`);
    if (!(t instanceof Tensor)) throw new TypeError(`optimizerStateFromTensors: '${key}' is not a Tensor`);
    (state[Number(m[1])] ??= {})[m[2]] = t;
  }
  return { ...json, state };
}
