// train/: run configs, the training objective, the training loop, checkpoints.
export { trainConfigSchema, parseTrainConfig, readTrainConfig, type TrainConfig } from './config.js';
export { train, type TrainOptions, type TrainSummary } from './trainer.js';
export { createObjective, runObjective, type ObjectiveLoss, type RunLossSpec } from './objective.js';
