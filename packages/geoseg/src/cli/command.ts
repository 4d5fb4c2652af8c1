// What a CLI command is, and the shared contract: --help, --json (exactly one JSON object on
// stdout), exit 0 on success, `geoseg: <cause>` on stderr and a non-zero exit otherwise.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseCrf } from '../infer/crf/crf-options.js';
import type { CrfOptions } from '../infer/crf/dense-crf.js';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, unknown>, positionals: string[]): Promise<unknown>;
}

/** A usage error: the command line itself is wrong. */
export class UsageError extends Error {}

export function parse(cmd: Command, argv: string[]) {
  try {
    return parseArgs({ args: argv, options: { ...cmd.options, help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/\. To specify.*$/s, '')} (see geoseg ${cmd.name} --help)`);
  }
}

/** Plain-text table with aligned columns. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r) => r.map((c, i) => (typeof rows[0]?.[i] === 'number' ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}

/** --crf's options (null when absent); bad values are usage errors. */
export function crfChoice(v: unknown): CrfOptions | null {
  if (v === undefined) return null;
  try {
    return parseCrf(String(v));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** --weights raw|ema: a checkpoint's raw weights or their moving average (train.ema). */
export function weightsChoice(v: unknown): 'raw' | 'ema' {
  if (v !== 'raw' && v !== 'ema') throw new UsageError(`--weights must be raw or ema, got '${String(v)}'`);
  return v;
}

/** Class ids from `--<option> ID|NAME,...` (names case-insensitive); an unknown one is a usage error listing the classes. */
export function classIdsOption(option: string, spec: string, classes: { id: number; name: string }[]): number[] {
  return spec.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const c = /^\d+$/.test(s) ? classes.find((k) => k.id === Number(s)) : classes.find((k) => k.name.toLowerCase() === s.toLowerCase());
    if (!c) throw new UsageError(`--${option}: '${s}' is not a class id or name (classes: ${classes.map((k) => `${k.id} ${k.name}`).join(', ')})`);
    return c.id;
  });
}

/** What --model (a TorchScript model) or --checkpoint names; both, or --weights with --model, are usage errors. */
export function modelSource(values: Record<string, unknown>): { model: string } | { checkpoint: string } {
  if (values.model !== undefined && values.checkpoint !== undefined) throw new UsageError('--model and --checkpoint: give one of them');
  if (values.model !== undefined && values.weights !== 'raw') throw new UsageError('--weights: for checkpoints (a TorchScript model has its own weights only)');
  return values.model !== undefined ? { model: String(values.model) } : { checkpoint: String(values.checkpoint) };
}

/** An optional `--<name>` that must be a positive integer. */
export function positiveInt(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(String(v)) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name}: must be a positive integer, got '${v}'`);
  return n;
}
