// Successive halving (Jamieson & Talwalkar 2016) in equal-budget rungs: rung 0 trains every
// candidate, each later rung the best 1/eta of the one before (at least one), until one is left.
// The budget is split evenly over the rungs and, within a rung, over its trials, so later rungs
// train fewer candidates for longer. A trial is a fresh run whose schedule has the trial's
// length (not a continuation of the earlier rung's run).

/** Trials per rung: n, ⌊n/eta⌋, ⌊n/eta²⌋, … down to 1. */
export function rungSizes(n: number, eta: number): number[] {
  const sizes = [n];
  while (sizes[sizes.length - 1] > 1) sizes.push(Math.max(1, Math.floor(sizes[sizes.length - 1] / eta)));
  return sizes;
}

/** Minutes of one trial in each rung for a whole budget. */
export function trialMinutes(budgetMinutes: number, sizes: number[]): number[] {
  return sizes.map((n) => budgetMinutes / sizes.length / n);
}

/**
 * The `k` candidates a rung promotes: highest score first, ties to the lower candidate index
 * (NaN, a failed trial, ranks last).
 */
export function promote(results: { candidate: number; score: number }[], k: number): number[] {
  const key = (s: number) => (Number.isNaN(s) ? -Infinity : s);
  return [...results].sort((a, b) => key(b.score) - key(a.score) || a.candidate - b.candidate).slice(0, k).map((r) => r.candidate);
}
