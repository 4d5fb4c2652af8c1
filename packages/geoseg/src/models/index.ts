// Models: the architecture registry, createModel, encoders and weight loading.
export { SegmentationModel, useChannelsLast, useContiguousFormat, channelsLast, type ModelOutputs } from './model.js';
export { defineArchitecture, outOnly, type ArchitectureDefinition, type Objective, type OutputObjective } from './architecture.js';
export { ARCHITECTURES, ARCHITECTURE_NAMES, isArchitectureName, type ArchitectureName } from './registry.js';
export { createModel, architecture, architectureOptions, defaultObjective, optionIssues, pairIssue, validEncoders, COMMON_MODEL_FIELDS, type ModelConfig, type OptionIssue } from './create.js';
export { UNet } from './decoders/unet/index.js';
export { FCN } from './decoders/fcn/index.js';
export { DeepLabV3, DeepLabV3Plus, ASPP } from './decoders/deeplab/index.js';
export { PSPNet } from './decoders/pspnet/index.js';
export * from './encoders/index.js';
export { loadEncoderWeights, adaptFirstConv } from './weights.js';
export { saveCheckpoint, loadCheckpoint, resolveCheckpoint, type CheckpointMeta, type LoadedCheckpoint } from './checkpoint.js';
export { describeArchitecture, describeArchitectures, type ArchitectureSummary, type OptionSummary } from './describe.js';
export { modelFlops, gflopsPerSecond, type ModelFlops } from './flops.js';
export { ScriptedModel, readModelCard, type ModelCard } from './scripted.js';
export type { WindowModel } from './window-model.js';
