// A recipe search space (`geoseg search --space space.yaml`): a base run config, the settings to
// vary (dotted paths into it, each a list of choices or a numeric range) and the search's own
// settings. Sampling is seeded (mulberry32) and visits the parameters in sorted order, so the
// same file and seed always give the same candidates.
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { mulberry32 } from '../data/split.js';
import { readDocument } from '../document.js';
import { GeosegError } from '../errors.js';
import { formatZodIssue } from '../train/config.js';

const pair = z.tuple([z.number(), z.number()]).refine(([lo, hi]) => lo < hi, 'a range [lo, hi] with lo < hi');
const paramSchema = z.union([
  z.array(z.unknown()).min(1, 'at least one choice'),
  z.object({ log: pair.refine(([lo]) => lo > 0, 'log ranges need lo > 0') }).strict(),
  z.object({ range: pair }).strict(),
  z.object({ int: pair }).strict(),
]);

export const spaceSchema = z.object({
  base: z.string().describe('The run config every trial starts from (relative to this file).'),
  out: z.string().describe('The search folder: search.json, trials/, best.yaml (relative to this file).'),
  seed: z.number().int().min(0).max(0xffffffff).default(0).describe('Seed of the candidates (each trial trains with the base config\'s train.seed).'),
  trials: z.number().int().min(2).default(16).describe('Candidates in the first rung.'),
  eta: z.number().int().min(2).default(2).describe('Successive halving: each rung keeps the best 1/eta of the one before.'),
  throughput: z.number().positive().default(100).describe('GFLOP/s a training step reaches on your machine: turns each trial\'s minutes into iterations (default 100: UNet-ResNet18 fp32 training, 8×256², reached 111 on the 2 threads of the development VM).'),
  params: z.record(paramSchema).refine((p) => Object.keys(p).length > 0, 'at least one parameter to vary').describe('Dotted paths into the run config (model.arch, optimizer.lr, loss, data.crop, …): a list of choices, or { log: [lo, hi] }, { range: [lo, hi] }, { int: [lo, hi] }.'),
}).strict();

export type ParamSpec = z.infer<typeof paramSchema>;

export interface SearchSpace {
  /** The space file. */
  file: string;
  /** The base run config, absolute, and its document as written. */
  base: string;
  baseDoc: Record<string, unknown>;
  out: string;
  seed: number;
  trials: number;
  eta: number;
  throughput: number;
  params: Record<string, ParamSpec>;
}

export function readSearchSpace(file: string): SearchSpace {
  const doc = readDocument(file);
  const parsed = spaceSchema.safeParse(doc);
  if (!parsed.success) throw new GeosegError(formatZodIssue(file, parsed.error, doc));
  const dir = dirname(resolve(file));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  const base = abs(parsed.data.base);
  const baseDoc = readDocument(base);
  if (typeof baseDoc !== 'object' || baseDoc === null || Array.isArray(baseDoc)) throw new GeosegError(`${base}: expected a run config (a mapping)`);
  return { ...parsed.data, file: resolve(file), base, baseDoc: baseDoc as Record<string, unknown>, out: abs(parsed.data.out) };
}

/** Three significant digits: sampled learning rates read like the ones people write. */
const tidy = (x: number) => Number(x.toPrecision(3));

/** One value of a parameter, drawn with `rng`. */
function draw(spec: ParamSpec, rng: () => number): unknown {
  if (Array.isArray(spec)) return spec[Math.min(spec.length - 1, Math.floor(rng() * spec.length))];
  if ('log' in spec) return tidy(Math.exp(Math.log(spec.log[0]) + rng() * (Math.log(spec.log[1]) - Math.log(spec.log[0]))));
  if ('range' in spec) return tidy(spec.range[0] + rng() * (spec.range[1] - spec.range[0]));
  const [lo, hi] = spec.int;
  return Math.min(hi, Math.floor(lo + rng() * (hi - lo + 1)));
}

export type Params = Record<string, unknown>;

/**
 * `count` distinct candidates for which `valid` says null (else it names the problem); draws
 * again for an invalid or repeated one, up to 50 times per candidate.
 */
export function sampleCandidates(space: SearchSpace, count: number, valid: (p: Params) => string | null): Params[] {
  refuseDeadChoices(space, valid);
  const rng = mulberry32(space.seed);
  const keys = Object.keys(space.params).sort();
  const seen = new Set<string>();
  const out: Params[] = [];
  let lastIssue = '';
  while (out.length < count) {
    let found: Params | null = null;
    for (let attempt = 0; attempt < 50 && !found; attempt++) {
      const p: Params = Object.fromEntries(keys.map((k) => [k, draw(space.params[k], rng)]));
      const key = JSON.stringify(p);
      if (seen.has(key)) { lastIssue = 'repeats an earlier candidate'; continue; }
      const issue = valid(p);
      if (issue) { lastIssue = issue; continue; }
      seen.add(key);
      found = p;
    }
    if (!found) throw new GeosegError(`${space.file}: params: found only ${out.length} of ${space.trials} distinct valid candidates (the last draw: ${lastIssue}); widen the space or lower trials`);
    out.push(found);
  }
  return out;
}

/** The values a parameter is checked with: a list's choices, a range's ends and middle. */
function probes(spec: ParamSpec): unknown[] {
  if (Array.isArray(spec)) return spec;
  if ('log' in spec) return [spec.log[0], tidy(Math.sqrt(spec.log[0] * spec.log[1])), spec.log[1]];
  if ('range' in spec) return [spec.range[0], tidy((spec.range[0] + spec.range[1]) / 2), spec.range[1]];
  return [spec.int[0], Math.floor((spec.int[0] + spec.int[1]) / 2), spec.int[1]];
}

/** Combinations tried per choice (spaces larger than this are not checked). */
const MAX_COMBINATIONS = 5000;

/**
 * Refuses a list choice that no combination of the other parameters makes valid (an unknown
 * encoder, a misspelt loss): drawing again would quietly shrink the space to the other choices.
 * The other parameters take their choices, or their ranges' ends and middle.
 */
function refuseDeadChoices(space: SearchSpace, valid: (p: Params) => string | null): void {
  const keys = Object.keys(space.params).sort();
  const values = Object.fromEntries(keys.map((k) => [k, probes(space.params[k])]));
  if (keys.reduce((n, k) => n * values[k].length, 1) > MAX_COMBINATIONS) return;
  for (const k of keys.filter((key) => Array.isArray(space.params[key]))) {
    const others = keys.filter((o) => o !== k);
    for (const choice of values[k]) {
      let issue: string | null = null;
      const anyValid = (i: number, p: Params): boolean =>
        i === others.length ? (issue = valid(p)) === null : values[others[i]].some((v) => anyValid(i + 1, { ...p, [others[i]]: v }));
      if (!anyValid(0, { [k]: choice })) throw new GeosegError(`${space.file}: params.${k}: the choice ${JSON.stringify(choice)} is never valid (${issue})`);
    }
  }
}

/** `doc` with `value` at the dotted `path` (objects created on the way; the input is not modified). */
export function withParam(doc: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = path.split('.');
  if (rest.length === 0) return { ...doc, [head]: value };
  const inner = doc[head];
  return { ...doc, [head]: withParam(typeof inner === 'object' && inner !== null && !Array.isArray(inner) ? inner as Record<string, unknown> : {}, rest.join('.'), value) };
}

/** A one-line description of a candidate, e.g. "model.arch=unet optimizer.lr=0.0021". */
export function describeParams(p: Params): string {
  return Object.entries(p).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
}
