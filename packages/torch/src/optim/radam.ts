// RAdam (Liu et al., "On the Variance of the Adaptive Learning Rate and Beyond"): PyTorch 1.13's
// torch.optim.RAdam (single-tensor code path), op for op. Until the variance estimate is
// tractable (rho_t <= 5, the first 5 steps with beta2 = 0.999) it takes plain momentum steps.
import { zerosLike } from '../generated/ops.js';
import type { Tensor } from '../tensor.js';
import { Optimizer, betasProblem, nonNegative, type ParamGroup, type ParamState, type Params } from './optimizer.js';

export interface RAdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  /** L2 penalty added to the gradient. */
  weightDecay: number;
}

export class RAdam extends Optimizer<RAdamOptions> {
  constructor(params: Params<RAdamOptions>, options: Partial<RAdamOptions> = {}) {
    super('RAdam', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 }, options);
  }

  protected validate(o: RAdamOptions): string | undefined {
    return nonNegative('lr', o.lr) ?? nonNegative('eps', o.eps) ?? betasProblem(o.betas) ?? nonNegative('weightDecay', o.weightDecay);
  }

  protected stateNames(): string[] {
    return ['step', 'exp_avg', 'exp_avg_sq'];
  }

  protected update(param: Tensor, grad: Tensor, group: ParamGroup<RAdamOptions>, state: ParamState): void {
    const { lr, betas: [beta1, beta2], eps, weightDecay } = group;
    if (state.step === undefined) {
      state.step = 0;
      state.exp_avg = zerosLike(param).keep();
      state.exp_avg_sq = zerosLike(param).keep();
    }
    const step = (state.step as number) + 1;
    state.step = step;
    const expAvg = state.exp_avg as Tensor;
    const expAvgSq = state.exp_avg_sq as Tensor;

    const biasCorrection1 = 1 - beta1 ** step;
    const biasCorrection2 = 1 - beta2 ** step;
    if (weightDecay !== 0) grad = grad.add(param, { alpha: weightDecay });

    expAvg.mul_(beta1).add_(grad, { alpha: 1 - beta1 });
    expAvgSq.mul_(beta2).addcmul_(grad, grad, { value: 1 - beta2 });
    const correctedExpAvg = expAvg.div(biasCorrection1);

    // Length of the approximated simple moving average: its maximum, and at this step.
    const rhoInf = 2 / (1 - beta2) - 1;
    const rhoT = rhoInf - (2 * step * beta2 ** step) / biasCorrection2;
    if (rhoT > 5) {
      const rect = Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
      // PyTorch writes `number / tensor`, which Python evaluates as tensor.reciprocal() * number.
      const adaptiveLr = expAvgSq.sqrt().add_(eps).reciprocal().mul(Math.sqrt(biasCorrection2));
      param.add_(correctedExpAvg.mul(lr).mul(adaptiveLr).mul(rect), { alpha: -1 });
    } else {
      param.add_(correctedExpAvg.mul(lr), { alpha: -1 });
    }
  }
}
