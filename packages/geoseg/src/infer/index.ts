// infer/: the window grid, the streaming blender, test-time augmentation, scene prediction.
export { predictWindows, PRECISIONS, type Precision, type WindowOptions } from './window-predict.js';
export { windowStarts, windowGrid, type WindowGrid } from './window-grid.js';
export { blendRows, NODATA_CLASS, type RowBand, type StreamOptions, type WindowReader, type NodataRule } from './stream-blend.js';
export { normalize, normalizationTensors, type Normalization } from './normalize.js';
export { blendWeights, blendProfile, BLEND_MODES, type BlendMode } from './blend.js';
export { ttaTransforms, TTA_TRANSFORMS, TTA_PRESETS, type TtaTransform } from './tta.js';
export { predict, type PredictOptions, type PredictSummary } from './predict.js';
export { postprocess, type PostprocessOptions } from './postprocess.js';
export { vectorize } from './vectorize.js';
