// train/: run configs, the training loop, checkpoints, whole-scene evaluation.
export { trainConfigSchema, parseTrainConfig, readTrainConfig, type TrainConfig } from './config.js';
export { train, type TrainOptions, type TrainSummary } from './trainer.js';
export { saveCheckpoint, loadCheckpoint, resolveCheckpoint, type CheckpointMeta, type LoadedCheckpoint } from './checkpoint.js';
export { evaluate, evaluateUnits, evalUnits, normalize, predictUnit, type EvalResult, type EvalUnit, type UnitPrediction } from './evaluate.js';
export { writeEvalMap, unitFolder } from './eval-maps.js';
