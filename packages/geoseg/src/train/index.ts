// train/: run configs, the training objective, the training loop, checkpoints.
export { trainConfigSchema, parseTrainConfig, readTrainConfig, type TrainConfig } from './config.js';
export { train, type TrainOptions, type TrainSummary } from './trainer.js';
export { saveCheckpoint, loadCheckpoint, resolveCheckpoint, type CheckpointMeta, type LoadedCheckpoint } from './checkpoint.js';
