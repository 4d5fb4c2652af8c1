// Two tiers of tests. `npm test` runs the quick tier, the everyday loop; the slow tier — long
// robustness runs (SIGKILL at random moments, Ctrl-C across workers), every architecture trained,
// resumed or laid out channels-last, the search end to end, the real-data checks — runs with
// `npm run test:slow` (GEOSEG_TEST_TIER=slow), and CI runs both. A slow test's name ends with
// SLOW_MARK, which is how the slow run selects it.
import { test, type TestContext } from 'node:test';

export const SLOW_MARK = '[slow tier]';
const tier = process.env.GEOSEG_TEST_TIER ?? 'quick';

type Options = Parameters<typeof test>[1] & object;

/** A test of the slow tier: skipped, saying so, unless GEOSEG_TEST_TIER is slow or all. */
export function slowTest(name: string, options: Options, fn: (t: TestContext) => unknown): void {
  const skip = tier === 'quick' ? options.skip || 'slow tier (npm run test:slow)' : options.skip;
  test(`${name} ${SLOW_MARK}`, { ...options, skip }, fn);
}
