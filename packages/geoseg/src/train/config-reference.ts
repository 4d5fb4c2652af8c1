// The configuration reference, generated from the zod schemas themselves (fields, types,
// defaults, descriptions), so the README cannot drift from what `geoseg train` accepts.
// `npm run docs` writes it into the README between the config-reference markers.
import type { z } from 'zod';
import { LOSSES } from '../losses/registry.js';
import { describeArchitectures } from '../models/index.js';
import { ENCODERS } from '../models/encoders/index.js';
import { trainConfigSchema } from './config.js';

interface Field {
  path: string;
  type: string;
  default: string;
  description: string;
}

type Def = { typeName: string; [k: string]: unknown };
const defOf = (s: z.ZodTypeAny) => s._def as Def;

/** Peel defaults, optionals, nullables and refinements, collecting what they say. */
function unwrap(schema: z.ZodTypeAny): { inner: z.ZodTypeAny; def?: unknown; optional: boolean; nullable: boolean; description?: string } {
  let s = schema;
  let def: unknown, optional = false, nullable = false;
  let description = s.description;
  for (;;) {
    const d = defOf(s);
    if (d.typeName === 'ZodDefault') { def ??= (d.defaultValue as () => unknown)(); s = d.innerType as z.ZodTypeAny; }
    else if (d.typeName === 'ZodOptional') { optional = true; s = d.innerType as z.ZodTypeAny; }
    else if (d.typeName === 'ZodNullable') { nullable = true; s = d.innerType as z.ZodTypeAny; }
    else if (d.typeName === 'ZodEffects') s = d.schema as z.ZodTypeAny;
    else break;
    description ??= s.description;
  }
  return { inner: s, def, optional, nullable, description };
}

function numberType(d: Def): string {
  const checks = d.checks as { kind: string; value?: number; inclusive?: boolean }[];
  const isInt = checks.some((c) => c.kind === 'int');
  const lo = checks.find((c) => c.kind === 'min' && c.inclusive), hi = checks.find((c) => c.kind === 'max' && c.inclusive);
  if (lo && hi) return `${isInt ? 'integer' : 'number'} in [${lo.value}, ${hi.value}]`;
  const bounds = checks.flatMap((c) => {
    if (c.kind === 'min') return [`${c.inclusive ? '≥' : '>'} ${c.value}`];
    if (c.kind === 'max') return [`${c.inclusive ? '≤' : '<'} ${c.value}`];
    return [];
  });
  return [isInt ? 'integer' : 'number', ...bounds].join(' ');
}

/** A short type text: `number ≥ 0`, `adam | sgd`, `[number, number]`, `string or list`. */
function typeText(schema: z.ZodTypeAny): string {
  const { inner, nullable } = unwrap(schema);
  const d = defOf(inner);
  let t: string;
  switch (d.typeName) {
    case 'ZodNumber': t = numberType(d); break;
    case 'ZodString': t = 'string'; break;
    case 'ZodBoolean': t = 'boolean'; break;
    case 'ZodEnum': t = (d.values as string[]).join(' \\| '); break;
    case 'ZodLiteral': t = JSON.stringify(d.value); break;
    case 'ZodUnion': t = (d.options as z.ZodTypeAny[]).map(typeText).join(' \\| '); break;
    case 'ZodArray': t = `list of ${typeText(d.type as z.ZodTypeAny)}`; break;
    case 'ZodTuple': t = `[${(d.items as z.ZodTypeAny[]).map(typeText).join(', ')}]`; break;
    case 'ZodObject': t = 'object'; break;
    default: t = d.typeName.replace(/^Zod/, '').toLowerCase();
  }
  return nullable ? `${t} \\| null` : t;
}

function defaultText(u: ReturnType<typeof unwrap>): string {
  if (u.def !== undefined) return typeof u.def === 'object' && u.def !== null && !Array.isArray(u.def) && Object.keys(u.def).length === 0 ? '' : `\`${JSON.stringify(u.def)}\``;
  return u.optional || u.nullable ? '' : '**required**';
}

function fields(schema: z.ZodTypeAny, prefix: string, out: Field[]): Field[] {
  const u = unwrap(schema);
  const d = defOf(u.inner);
  if (d.typeName === 'ZodObject' && prefix) out.push({ path: prefix, type: u.nullable ? 'object \\| null' : 'object', default: u.optional ? '(off)' : u.def === null ? '`null`' : '', description: u.description ?? '' });
  if (d.typeName === 'ZodObject') {
    const shape = (d.shape as () => Record<string, z.ZodTypeAny>)();
    for (const [k, v] of Object.entries(shape)) fields(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.push({ path: prefix, type: typeText(schema), default: defaultText(u), description: u.description ?? '' });
  }
  return out;
}

/** Loss options the trainer fills in: the dataset's ignore index, `classWeights`, training progress. */
const SET_BY_RUN = new Set(['ignoreIndex', 'classWeights', 'progress']);

/** A table row; the last cell is prose, whose pipes must not end the cell. */
const row = (cells: string[]) => `| ${cells.map((c, i) => (i === cells.length - 1 ? c.replace(/\|/g, '\\|') : c)).join(' | ')} |`;

/** Markdown: the run config fields, then the losses with their options, architectures and encoders. */
export function configReference(): string {
  const lines = ['| field | type | default | meaning |', '|---|---|---|---|'];
  for (const f of fields(trainConfigSchema, '', [])) lines.push(row([`\`${f.path}\``, f.type, f.default, f.description]));
  lines.push('', 'Losses (`loss: "ce + 0.5 * dice"`, or a list of `{ name, weight, ...options }`; `ignoreIndex` comes from the dataset, class weights from `classWeights`):', '', '| loss | options (default) | what it is |', '|---|---|---|');
  for (const [name, l] of Object.entries(LOSSES)) {
    const opts = fields(l.schema, '', []).filter((f) => !SET_BY_RUN.has(f.path)).map((f) => `${f.path}${f.default ? ` (${f.default.replace(/`/g, '')})` : ''}`).join(', ');
    lines.push(row([`\`${name}\``, opts, l.description]));
  }
  lines.push('', 'Architectures (`model.arch`) and their own options (`model.<option>`; an option of another architecture is an error). Training outputs are supervised with these weights unless `loss` says otherwise per output:', '',
    '| architecture | options (default) | training outputs | what it is |', '|---|---|---|---|');
  for (const a of describeArchitectures()) {
    const opts = a.options.map((o) => `${o.name}${o.default === null ? '' : ` (${o.default})`}: ${o.description.replace(/\.$/, '')}`).join('; ') || '—';
    lines.push(row([`\`${a.name}\``, opts.replace(/\|/g, '\\|'), a.objective, a.description]));
  }
  lines.push('', `Encoders (\`model.encoder\`): ${Object.keys(ENCODERS).map((k) => `\`${k}\``).join(', ')}.`);
  return lines.join('\n');
}

export const REFERENCE_START = '<!-- config-reference:start (generated by npm run docs from the zod schemas; do not edit) -->';
export const REFERENCE_END = '<!-- config-reference:end -->';

/** The README text with its reference block replaced by the current one. */
export function withConfigReference(readme: string): string {
  const a = readme.indexOf(REFERENCE_START), b = readme.indexOf(REFERENCE_END);
  if (a < 0 || b < a) throw new Error(`README: markers ${REFERENCE_START} … ${REFERENCE_END} not found`);
  return `${readme.slice(0, a + REFERENCE_START.length)}\n${configReference()}\n${readme.slice(b)}`;
}
