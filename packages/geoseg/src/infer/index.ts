// infer/: windows, blending, test-time augmentation, scene prediction.
export { predictScene, predictWindows, type WindowOptions } from './scene-predict.js';
export { blendWeights, type BlendMode } from './blend.js';
export { ttaTransforms, TTA_TRANSFORMS, TTA_PRESETS, type TtaTransform } from './tta.js';
