// A schedule's length fitted to a time budget (train.minutes without train.iterations).
//
// The run measures its own speed: seconds per iteration over a window (the first iterations,
// slower while libtorch allocates and starts threads, are not measured) and seconds per periodic
// validation. At a few points of the budget (a few early, then every 15%, the last at 80%) it
// re-estimates the length: the largest iteration count whose projected end, with the validations
// still due, is within the budget. Each window starts where the last estimate was made, so a
// speed that drifts is followed. After the last point the length is final and the run ends there,
// with its schedule complete. The state is plain data, saved in every checkpoint, so a resumed
// run continues the same fit.

/** Fractions of the budget at which the length is re-estimated. */
export const ESTIMATE_POINTS = [0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8];
/** Iterations not measured at the start (allocation, thread start). */
const UNMEASURED = 2;
/** The fewest iterations a window measures. */
const MIN_SAMPLES = 3;
/** An upper bound for a length (a clock that does not move would give an infinite one). */
const MAX_LENGTH = 1e9;

export interface LengthEstimate {
  step: number;
  elapsedSeconds: number;
  secondsPerIteration: number;
  secondsPerValidation: number;
  length: number;
  /** The last estimate: the length no longer changes. */
  final: boolean;
}

export interface FittedLengthState {
  budgetSeconds: number;
  /** Iterations of the schedule (warmup included); null until the first estimate. */
  length: number | null;
  /** The next of ESTIMATE_POINTS to reach. */
  nextPoint: number;
  /** Where the current measurement window starts (null until the unmeasured iterations are done). */
  window: { step: number; elapsedSeconds: number; validationSeconds: number } | null;
  /** Periodic validations so far, and their seconds. */
  validations: number;
  validationSeconds: number;
  estimates: LengthEstimate[];
}

export interface FitSettings {
  /** Validation every N iterations (0: none besides the final one, which follows the budget). */
  evalEvery: number;
  /** Warmup iterations: the first estimate comes by their end, before the schedule's decay. */
  warmup: number;
}

export function startFit(budgetSeconds: number): FittedLengthState {
  return { budgetSeconds, length: null, nextPoint: 0, window: null, validations: 0, validationSeconds: 0, estimates: [] };
}

/**
 * Periodic validations still due after iteration `step` ends: at the multiples of evalEvery from
 * `step` itself (its validation follows the estimate) up to, not including, `length` (the final
 * validation follows the budget).
 */
function validationsBetween(step: number, length: number, evalEvery: number): number {
  return evalEvery > 0 ? Math.max(0, Math.floor((length - 1) / evalEvery) - Math.floor((step - 1) / evalEvery)) : 0;
}

/** The largest length whose projected end is within the budget (at least `step`: stop now). */
export function fitLength(step: number, elapsed: number, budget: number, secondsPerIteration: number, secondsPerValidation: number, evalEvery: number): number {
  const s = Math.max(secondsPerIteration, 1e-9);
  const end = (length: number) => elapsed + (length - step) * s + validationsBetween(step, length, evalEvery) * secondsPerValidation;
  const perIteration = s + (evalEvery > 0 ? secondsPerValidation / evalEvery : 0);
  let length = Math.min(MAX_LENGTH, step + Math.max(0, Math.floor((budget - elapsed) / perIteration)));
  while (length < MAX_LENGTH && end(length + 1) <= budget) length++;
  while (length > step && end(length) > budget) length--;
  return length;
}

/** Record a periodic validation's seconds (they count against the budget). */
export function recordValidation(state: FittedLengthState, seconds: number): void {
  state.validations++;
  state.validationSeconds += seconds;
}

/**
 * After iteration `step` ends at `elapsed` seconds of the run: re-estimate the length when a
 * point of the budget is reached. Returns the new estimate, or null when there is none.
 */
export function afterIteration(state: FittedLengthState, step: number, elapsed: number, settings: FitSettings): LengthEstimate | null {
  if (state.nextPoint >= ESTIMATE_POINTS.length) return null;
  if (!state.window) {
    if (step >= UNMEASURED) state.window = { step, elapsedSeconds: elapsed, validationSeconds: state.validationSeconds };
    return null;
  }
  const w = state.window;
  const due = elapsed >= ESTIMATE_POINTS[state.nextPoint] * state.budgetSeconds || (state.length === null && step >= settings.warmup);
  if (!due || step - w.step < MIN_SAMPLES) return null;
  const secondsPerIteration = (elapsed - w.elapsedSeconds - (state.validationSeconds - w.validationSeconds)) / (step - w.step);
  const secondsPerValidation = state.validations > 0 ? state.validationSeconds / state.validations : 0;
  const length = fitLength(step, elapsed, state.budgetSeconds, secondsPerIteration, secondsPerValidation, settings.evalEvery);
  while (state.nextPoint < ESTIMATE_POINTS.length && elapsed >= ESTIMATE_POINTS[state.nextPoint] * state.budgetSeconds) state.nextPoint++;
  const estimate: LengthEstimate = { step, elapsedSeconds: elapsed, secondsPerIteration, secondsPerValidation, length, final: state.nextPoint >= ESTIMATE_POINTS.length };
  state.length = length;
  state.window = { step, elapsedSeconds: elapsed, validationSeconds: state.validationSeconds };
  state.estimates.push(estimate);
  return estimate;
}

/** A state read back from a checkpoint, checked. */
export function isFittedLengthState(v: unknown): v is FittedLengthState {
  const s = v as FittedLengthState;
  return !!s && typeof s === 'object' && typeof s.budgetSeconds === 'number' && (s.length === null || Number.isInteger(s.length))
    && Number.isInteger(s.nextPoint) && Array.isArray(s.estimates) && typeof s.validationSeconds === 'number';
}
