// SGD with momentum, dampening, weight decay and Nesterov momentum: PyTorch 1.13's
// torch.optim.SGD (its single-tensor code path), op for op.
import type { Tensor } from '../tensor.js';
import { Optimizer, isBoolean, nonNegative, type ParamGroup, type ParamState, type Params } from './optimizer.js';

export interface SGDOptions {
  /** Required, in the options or in every group. */
  lr: number;
  momentum: number;
  dampening: number;
  /** L2 penalty added to the gradient. */
  weightDecay: number;
  nesterov: boolean;
}

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Params<SGDOptions>, options: Partial<SGDOptions> = {}) {
    super('SGD', params, { lr: undefined, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false }, options);
  }

  protected validate(o: SGDOptions): string | undefined {
    const problem = nonNegative('lr', o.lr) ?? nonNegative('momentum', o.momentum) ?? nonNegative('weightDecay', o.weightDecay)
      ?? (typeof o.dampening === 'number' && Number.isFinite(o.dampening) ? undefined : `invalid dampening ${String(o.dampening)}`)
      ?? isBoolean('nesterov', o.nesterov);
    if (problem) return problem;
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) return 'Nesterov momentum requires a momentum and zero dampening';
  }

  protected stateNames(o: SGDOptions): string[] {
    return o.momentum !== 0 ? ['momentum_buffer'] : [];
  }

  protected update(param: Tensor, grad: Tensor, group: ParamGroup<SGDOptions>, state: ParamState): void {
    const { lr, momentum, dampening, weightDecay, nesterov } = group;
    let d = weightDecay !== 0 ? grad.add(param, { alpha: weightDecay }) : grad;
    if (momentum !== 0) {
      let buf = state.momentum_buffer as Tensor | undefined;
      if (buf === undefined) {
        // The first step's buffer is the gradient itself, undamped (as PyTorch).
        buf = state.momentum_buffer = d.clone().keep();
      } else {
        buf.mul_(momentum).add_(d, { alpha: 1 - dampening });
      }
      d = nesterov ? d.add(buf, { alpha: momentum }) : buf;
    }
    param.add_(d, { alpha: -lr });
  }
}
