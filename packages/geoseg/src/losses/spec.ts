// Loss specs: "ce + 0.5 * dice" or "0.7*ce+0.3*lovasz" (a sum of weighted terms), or the array
// form [{ name: 'ce', weight: 1, classWeights: [...] }, { name: 'dice', weight: 0.5 }] whose
// entries also carry the term's options.
import { ModelConfigError } from '../errors.js';
import { formatValue, parseLossOptions } from './options.js';
import { isLossName, LOSS_NAMES, LOSSES, type LossName } from './registry.js';

/** One term of the array form: the loss's name, its weight (default 1), and its options. */
export interface LossTerm {
  name: string;
  weight?: number;
  [option: string]: unknown;
}

export interface ParsedLossTerm {
  name: LossName;
  weight: number;
  /** The term's own options (validated; defaults are applied when the loss runs). */
  options: Record<string, unknown>;
}

const TOKEN = /\s*(?:((?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)|([A-Za-z_]\w*)|([+*])|(\S))/iy;

type Token = { kind: 'number'; value: number; at: number } | { kind: 'name' | 'op' | 'bad'; text: string; at: number };

function tokenize(spec: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  let m: RegExpExecArray | null;
  while (TOKEN.lastIndex < spec.length && (m = TOKEN.exec(spec))) {
    const at = m.index + m[0].length - m[0].trimStart().length;
    if (m[1] !== undefined) tokens.push({ kind: 'number', value: Number(m[1]), at });
    else if (m[2] !== undefined) tokens.push({ kind: 'name', text: m[2], at });
    else if (m[3] !== undefined) tokens.push({ kind: 'op', text: m[3], at });
    else if (m[4] !== undefined) tokens.push({ kind: 'bad', text: m[4], at });
  }
  return tokens;
}

function unknownLoss(where: string, name: string): ModelConfigError {
  return new ModelConfigError(`${where}: unknown loss ${JSON.stringify(name)} (losses: ${LOSS_NAMES.join(', ')})`);
}

function parseString(spec: string): { name: LossName; weight: number }[] {
  const where = `loss spec ${JSON.stringify(spec)}`;
  const tokens = tokenize(spec);
  if (tokens.length === 0) throw new ModelConfigError(`${where}: expected at least one term, such as "ce" or "ce + 0.5 * dice"`);
  const fail = (i: number, expected: string) => {
    const rest = i < tokens.length ? `at ${JSON.stringify(spec.slice(tokens[i]!.at))}` : 'at the end';
    return new ModelConfigError(`${where}: expected ${expected} ${rest}`);
  };
  const terms: { name: LossName; weight: number }[] = [];
  let i = 0;
  for (;;) {
    // term := factor ('*' factor)*, with exactly one factor a loss name and the others numbers
    let name: LossName | null = null;
    let weight = 1;
    for (;;) {
      const tok = tokens[i];
      if (tok?.kind === 'number') weight *= tok.value;
      else if (tok?.kind === 'name') {
        if (name !== null) throw fail(i, '"+" or "*" and a number');
        if (!isLossName(tok.text)) throw unknownLoss(where, tok.text);
        name = tok.text;
      } else throw fail(i, 'a loss name or a number');
      i++;
      if (tokens[i]?.kind === 'op' && (tokens[i] as { text: string }).text === '*') i++;
      else break;
    }
    if (name === null) throw fail(i, 'a loss name in the term');
    if (!Number.isFinite(weight)) throw new ModelConfigError(`${where}: the weight of ${name} is ${weight}, expected a finite number`);
    terms.push({ name, weight });
    if (i === tokens.length) return terms;
    if (tokens[i]?.kind === 'op' && (tokens[i] as { text: string }).text === '+') i++;
    else throw fail(i, '"+" or "*"');
  }
}

/** Parse a loss spec into terms. Unknown losses, repeated terms, bad weights and bad options throw a ModelConfigError. */
export function parseLossSpec(spec: string | readonly LossTerm[]): ParsedLossTerm[] {
  let terms: ParsedLossTerm[];
  if (typeof spec === 'string') {
    terms = parseString(spec).map((t) => ({ ...t, options: {} }));
  } else if (Array.isArray(spec)) {
    if (spec.length === 0) throw new ModelConfigError('loss spec: expected at least one term, got an empty list');
    terms = spec.map((term, k) => {
      const where = `loss spec term ${k}`;
      if (term === null || typeof term !== 'object' || typeof term.name !== 'string') {
        throw new ModelConfigError(`${where}: expected { name, weight?, ...options }, got ${formatValue(term)}`);
      }
      const { name, weight = 1, ...options } = term;
      if (!isLossName(name)) throw unknownLoss(where, name);
      if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
        throw new ModelConfigError(`loss ${name}: weight = ${formatValue(weight)}: expected a finite number >= 0`);
      }
      // Options not given here may come later (common options, the training progress): check
      // the ones given, against the schema with every field optional.
      parseLossOptions(name, LOSSES[name].schema.partial(), options);
      return { name, weight, options };
    });
  } else {
    throw new ModelConfigError(`loss spec: expected a string such as "ce + 0.5 * dice" or a list of { name, weight, ...options }, got ${formatValue(spec)}`);
  }
  const seen = new Set<string>();
  for (const t of terms) {
    if (seen.has(t.name)) throw new ModelConfigError(`loss spec: ${t.name} appears more than once (give it one term with one weight)`);
    seen.add(t.name);
  }
  return terms;
}
