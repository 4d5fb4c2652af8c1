// infer/: windows, blending, test-time augmentation, scene prediction.
export { predictScene, predictWindows, type WindowOptions } from './scene-predict.js';
export { blendWeights, blendProfile, BLEND_MODES, type BlendMode } from './blend.js';
export { ttaTransforms, TTA_TRANSFORMS, TTA_PRESETS, type TtaTransform } from './tta.js';
export { predict, type PredictOptions, type PredictSummary } from './predict.js';
export { postprocess, type PostprocessOptions } from './postprocess.js';
export { vectorize } from './vectorize.js';
