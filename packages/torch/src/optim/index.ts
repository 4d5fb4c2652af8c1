// torch.optim: optimizers and learning-rate schedulers, following PyTorch 1.13.
export { Optimizer, type OptimizerLike, type OptimizerStateDict, type ParamGroup, type ParamState, type Params } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { RAdam, type RAdamOptions } from './radam.js';
export { Lookahead, type LookaheadOptions } from './lookahead.js';
export { optimizerStateToTensors, optimizerStateFromTensors } from './state-io.js';
export {
  LRScheduler, PolyLR, StepLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, type SchedulerStateDict,
} from './lr-scheduler.js';
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './reduce-lr-on-plateau.js';
export { LinearWarmup, type LinearWarmupOptions } from './linear-warmup.js';
