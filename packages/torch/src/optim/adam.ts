// Adam and AdamW: PyTorch 1.13's torch.optim.Adam / AdamW (their single-tensor code paths), op
// for op. They differ only in weight decay: Adam adds it to the gradient (L2), AdamW shrinks the
// weights directly (decoupled, Loshchilov & Hutter).
import { maximum, zerosLike } from '../generated/ops.js';
import type { Tensor } from '../tensor.js';
import { Optimizer, betasProblem, isBoolean, nonNegative, type Defaults, type ParamGroup, type ParamState, type Params } from './optimizer.js';

export interface AdamOptions {
  lr: number;
  /** Decay rates of the gradient's running mean and of its square's. */
  betas: [number, number];
  /** Added to the denominator for stability. */
  eps: number;
  weightDecay: number;
  /** Use the maximum of the squared-gradient averages so far (AMSGrad). */
  amsgrad: boolean;
}

abstract class AdamBase extends Optimizer<AdamOptions> {
  protected abstract readonly decoupled: boolean;

  protected constructor(name: string, params: Params<AdamOptions>, builtins: Defaults<AdamOptions>, options: Partial<AdamOptions>) {
    super(name, params, builtins, options);
  }

  protected validate(o: AdamOptions): string | undefined {
    return nonNegative('lr', o.lr) ?? nonNegative('eps', o.eps) ?? betasProblem(o.betas)
      ?? nonNegative('weightDecay', o.weightDecay) ?? isBoolean('amsgrad', o.amsgrad);
  }

  protected stateNames(o: AdamOptions): string[] {
    return o.amsgrad ? ['step', 'exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['step', 'exp_avg', 'exp_avg_sq'];
  }

  protected update(param: Tensor, grad: Tensor, group: ParamGroup<AdamOptions>, state: ParamState): void {
    const { lr, betas: [beta1, beta2], eps, weightDecay, amsgrad } = group;
    if (state.step === undefined) {
      state.step = 0;
      state.exp_avg = zerosLike(param).keep();
      state.exp_avg_sq = zerosLike(param).keep();
      if (amsgrad) state.max_exp_avg_sq = zerosLike(param).keep();
    }
    const step = (state.step as number) + 1;
    state.step = step;
    const expAvg = state.exp_avg as Tensor;
    const expAvgSq = state.exp_avg_sq as Tensor;

    if (this.decoupled) param.mul_(1 - lr * weightDecay);
    else if (weightDecay !== 0) grad = grad.add(param, { alpha: weightDecay });

    expAvg.mul_(beta1).add_(grad, { alpha: 1 - beta1 });
    expAvgSq.mul_(beta2).addcmul_(grad, grad, { value: 1 - beta2 });

    const biasCorrection1 = 1 - beta1 ** step;
    const biasCorrection2 = 1 - beta2 ** step;
    const stepSize = lr / biasCorrection1;
    let second = expAvgSq;
    if (amsgrad) {
      const maxSq = state.max_exp_avg_sq as Tensor;
      maxSq.copy_(maximum(maxSq, expAvgSq));
      second = maxSq;
    }
    const denom = second.sqrt().div_(Math.sqrt(biasCorrection2)).add_(eps);
    param.addcdiv_(expAvg, denom, { value: -stepSize });
  }
}

/** Adam (Kingma & Ba), weight decay as an L2 term in the gradient. */
export class Adam extends AdamBase {
  protected readonly decoupled = false;

  constructor(params: Params<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super('Adam', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false }, options);
  }
}

/** AdamW: Adam with decoupled weight decay (`param *= 1 - lr * weightDecay` each step). */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;

  constructor(params: Params<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super('AdamW', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false }, options);
  }
}
