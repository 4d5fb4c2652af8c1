// Whole-scene evaluation (on top of infer/ and metrics/): the confusion matrix of a model's
// sliding-window predictions over validation scenes, streamed, and the maps `geoseg eval --maps` writes.
export { evaluate, evalUnits, unitRegion, type EvalResult, type EvalUnit, type EvalHooks, type UnitRows, type UnitSink } from './evaluate.js';
export { beginEvalMaps, finishEvalMaps, evalMapSink, unitFolder, MAPS_MARKER } from './maps.js';
