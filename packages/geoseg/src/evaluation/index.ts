// Whole-scene evaluation (on top of infer/ and metrics/): the confusion matrix of a model's
// sliding-window predictions over validation scenes, and the maps `geoseg eval --maps` writes.
export { evaluate, evaluateUnits, evalUnits, normalize, predictUnit, type EvalResult, type EvalUnit, type Normalization, type UnitPrediction } from './evaluate.js';
export { beginEvalMaps, finishEvalMaps, writeEvalMap, unitFolder, MAPS_MARKER } from './maps.js';
