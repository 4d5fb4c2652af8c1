// data/: class tables, masks, (later) tiling, statistics, sampling and splits.
export { readClassTable, classTableFrom, packRgb, hexOf, type ClassTable, type ClassDef } from './classes.js';
export { decodeMask, maskEncoding, countClasses, type DecodedMask, type MaskEncoding, type UnknownPolicy } from './masks.js';
export { planTiles, checkTileSize, type TilingOptions } from './tiling.js';
export { prepare, type PrepareOptions, type PrepareSummary } from './prepare.js';
export { readDataset, type DatasetJson, type SceneRecord, type TileRecord } from './dataset.js';
export { pairScenes, type ScenePair } from './pairing.js';
export { classStats, type ClassStats } from './stats.js';
export { randomSplit, sceneSplit, maxEntropySplit, scenesSplit, splitTiles, splitEntropies, leakPairs, entropy, mulberry32, SPLIT_STRATEGIES, type SplitStrategy, type SplitTile, type SplitResult, type SplitRecord, type SplitOptions } from './split.js';
export { classBalanced, rareThreshold, trainFrequencies, SAMPLING_STRATEGIES, type SamplingStrategy, type SamplingRecord, type ClassBalancedOptions, type RareThresholdOptions } from './sampling.js';
export { augment, augmentationSchema, describeAugmentation, type AugmentationConfig } from './augment.js';
export { TileLoader, defaultScale, type LoaderOptions, type Batch } from './loader.js';
export { SceneTiles, type Region } from './scene-tiles.js';
