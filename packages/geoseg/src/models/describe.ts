// What `geoseg models`, the README and the config reference say about an architecture, read from
// its registry entry: options with their defaults, training outputs and weights, encoders.
import type { z } from 'zod';
import type { ArchitectureDefinition, OutputObjective } from './architecture.js';
import { validEncoders } from './create.js';
import { ARCHITECTURES } from './registry.js';

export interface OptionSummary {
  name: string;
  /** The default as JSON, or null when the option has none. */
  default: string | null;
  description: string;
}

export interface ArchitectureSummary {
  name: string;
  description: string;
  outputStride: number;
  encoders: string[];
  options: OptionSummary[];
  /** Training outputs and their weights in the default objective ('out 1, aux 0.4'). */
  objective: string;
}

function optionSummary(name: string, schema: z.ZodTypeAny): OptionSummary {
  let s: z.ZodTypeAny = schema;
  let def: unknown;
  for (;;) {
    const d = s._def as { typeName: string; innerType?: z.ZodTypeAny; defaultValue?: () => unknown };
    if (d.typeName === 'ZodDefault') def = d.defaultValue!();
    if ((d.typeName === 'ZodDefault' || d.typeName === 'ZodOptional') && d.innerType) s = d.innerType;
    else break;
  }
  return { name, default: def === undefined ? null : JSON.stringify(def), description: schema.description ?? s.description ?? '' };
}

/** A loss spec in one line: 'annealing_focal', or terms with options as 'cp {"som":0.1}'. */
function formatLoss(loss: NonNullable<OutputObjective['loss']>): string {
  if (typeof loss === 'string') return loss;
  return loss.map(({ name, weight, ...options }) => {
    const w = weight === undefined || weight === 1 ? '' : `${weight} * `;
    return `${w}${name}${Object.keys(options).length ? ` ${JSON.stringify(options)}` : ''}`;
  }).join(' + ');
}

export function describeArchitecture(name: string, a: ArchitectureDefinition = ARCHITECTURES[name as keyof typeof ARCHITECTURES]): ArchitectureSummary {
  const options = Object.entries(a.options.shape as Record<string, z.ZodTypeAny>).map(([k, v]) => optionSummary(k, v));
  // The objective with every boolean option on shows every output the architecture can have.
  const allOn = Object.fromEntries(options.filter((o) => o.default === 'false').map((o) => [o.name, true]));
  const objective = a.objective(a.options.parse(allOn));
  return {
    name,
    description: a.description,
    outputStride: a.outputStride,
    encoders: validEncoders(name, a),
    options,
    objective: Object.entries(objective).map(([o, e]) => `${o} ${e.weight}${e.loss ? ` (${formatLoss(e.loss)})` : ''}`).join(', '),
  };
}

export function describeArchitectures(): ArchitectureSummary[] {
  return Object.keys(ARCHITECTURES).map((name) => describeArchitecture(name));
}
