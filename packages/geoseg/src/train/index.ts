// train/: run configs, the training loop, checkpoints, whole-scene evaluation.
export { trainConfigSchema, parseTrainConfig, readTrainConfig, type TrainConfig } from './config.js';
export { train, type TrainOptions, type TrainSummary } from './trainer.js';
export { saveCheckpoint, loadCheckpoint, resolveCheckpoint, type CheckpointMeta, type LoadedCheckpoint } from './checkpoint.js';
export { evaluate, evalUnits, normalize, type EvalResult, type EvalUnit } from './evaluate.js';
