// Segmentation losses: (logits [N, C, H, W], target [N, H, W] int64, options) → scalar, with
// ignoreIndex honoured everywhere; a registry by name; weighted sums from specs.
export { crossEntropyLoss, crossEntropySchema, type CrossEntropyOptions } from './cross-entropy.js';
export { focalLoss, focalSchema, type FocalOptions } from './focal.js';
export { diceLoss, diceSchema, generalizedDiceLoss, generalizedDiceSchema, type DiceOptions, type GeneralizedDiceOptions } from './dice.js';
export { tverskyLoss, tverskySchema, type TverskyOptions } from './tversky.js';
export { jaccardLoss, jaccardSchema, type JaccardOptions } from './jaccard.js';
export { lovaszSoftmaxLoss, lovaszSchema, type LovaszOptions } from './lovasz.js';
export { ohemCrossEntropyLoss, ohemSchema, type OhemOptions } from './ohem.js';
export { jointProbabilityLoss, jointProbability, jointLogProbability, jointProbabilitySchema, type JointProbabilityOptions } from './joint-probability.js';
export { somLoss, somSchema, smallObjectMining, type SomOptions } from './som.js';
export { annealingFocalLoss, annealingFocalSchema, annealedScale, type AnnealingFocalOptions } from './annealing-focal.js';
export { noisyLabelLoss, noisySchema, noisyThreshold, type NoisyOptions } from './noisy.js';
export { parseLossOptions, type ClassSelection } from './options.js';
export { LOSSES, LOSS_NAMES, isLossName, type LossDefinition, type LossName } from './registry.js';
export { parseLossSpec, type LossTerm, type ParsedLossTerm } from './spec.js';
export { createLoss, type CommonLossOptions, type CompositeLoss, type LossContext, type LossResult } from './compose.js';
