// Option schemas shared by the losses, and the one-line errors a bad option produces:
// `loss focal: gamma = -1: expected a number >= 0`.
import { z } from 'zod';
import { ModelConfigError } from '../errors.js';

/** Label value whose pixels take no part in a loss. */
export const ignoreIndexField = z.number().int().default(255);

/** One non-negative weight per class; each pixel's term is weighted by its true class's weight. */
export const classWeightsField = z.array(z.number().finite().min(0)).min(1).optional();

/**
 * Which classes a region loss (dice, tversky, jaccard, lovasz) averages over: those present in the
 * target ('present'), every class ('all'), or the listed class ids.
 */
export const classesField = z
  .union([z.enum(['present', 'all']), z.array(z.number().int().min(0)).min(1)], {
    errorMap: () => ({ message: 'expected "present", "all" or a list of class ids' }),
  })
  .default('present');
export type ClassSelection = z.infer<typeof classesField>;

/** Added to numerator and denominator of region ratios, so they stay defined when both are tiny. */
export const smoothField = z.number().finite().min(0).default(1e-5);

// Turns zod's issue codes into the "expected ..." half of the message. A message a schema sets
// itself (as `classes` does) is kept: it is whatever differs from zod's default message.
const expectationMap: z.ZodErrorMap = (issue, ctx) => {
  if (ctx.defaultError !== z.defaultErrorMap(issue, { ...ctx, defaultError: '' }).message) return { message: ctx.defaultError };
  switch (issue.code) {
    case 'invalid_type':
      return { message: `expected ${issue.expected === 'integer' ? 'an integer' : `a ${issue.expected}`}` };
    case 'too_small':
      if (issue.type === 'array') return { message: `expected at least ${issue.minimum} value${issue.minimum === 1 ? '' : 's'}` };
      return { message: `expected a number ${issue.inclusive ? '>=' : '>'} ${issue.minimum}` };
    case 'too_big':
      if (issue.type === 'array') return { message: `expected at most ${issue.maximum} values` };
      return { message: `expected a number ${issue.inclusive ? '<=' : '<'} ${issue.maximum}` };
    case 'not_finite':
      return { message: 'expected a finite number' };
    case 'invalid_enum_value':
      return { message: `expected one of ${issue.options.map((o) => JSON.stringify(o)).join(', ')}` };
    default:
      return { message: ctx.defaultError };
  }
};

function valueAt(input: unknown, path: (string | number)[]): unknown {
  let v = input;
  for (const key of path) v = v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[key] : undefined;
  return v;
}

function fieldName(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

export function formatValue(v: unknown): string {
  const text = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Validate a loss's options against its schema (defaults applied). A bad option throws a
 * ModelConfigError of one line naming the loss, the field, the value and what was expected.
 */
export function parseLossOptions<S extends z.ZodTypeAny>(loss: string, schema: S, options: unknown): z.output<S> {
  const parsed = schema.safeParse(options ?? {}, { errorMap: expectationMap });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const known = schema instanceof z.ZodObject ? Object.keys(schema.shape as object).join(', ') : '';
    const keys = issue.keys.map((k) => JSON.stringify(k)).join(', ');
    throw new ModelConfigError(`loss ${loss}: unknown option${issue.keys.length > 1 ? 's' : ''} ${keys} (options: ${known})`);
  }
  const value = valueAt(options, issue.path);
  const field = fieldName(issue.path);
  if (value === undefined) throw new ModelConfigError(`loss ${loss}: ${field} is missing: ${issue.message}`);
  throw new ModelConfigError(`loss ${loss}: ${field} = ${formatValue(value)}: ${issue.message}`);
}
