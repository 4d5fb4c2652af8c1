// geoseg search --space space.yaml --budget 60m: a recipe search by successive halving (search/).
import { runSearch } from '../search/run-search.js';
import { describeParams, readSearchSpace } from '../search/space.js';
import { table, UsageError, type Command } from './command.js';
import { catchInterrupt } from './interrupt.js';

/** '60m', '1.5h', '90' (minutes) → minutes. */
export function parseBudget(v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(m|min|h)?\s*$/.exec(v);
  const minutes = m ? Number(m[1]) * (m[2] === 'h' ? 60 : 1) : NaN;
  if (!(minutes > 0)) throw new UsageError(`--budget must be a duration like 60m or 1.5h, got '${v}'`);
  return minutes;
}

export const searchCommand: Command = {
  name: 'search',
  summary: 'search recipes (architecture, encoder, loss, crop, lr, …) within a budget by successive halving',
  usage: [
    'geoseg search --space space.yaml --budget 60m [--resume | --overwrite] [--json]',
    '  space.yaml: base (a run config), out (the search folder), params (dotted paths: a list of',
    '  choices or { log | range | int: [lo, hi] }), trials (16), eta (2), seed (0), throughput (GFLOP/s).',
    '  Writes <out>/search.json, <out>/trials/r<rung>-c<candidate>/ (runs) and <out>/best.yaml.',
    '  Ctrl-C stops the current trial with a checkpoint; --resume continues exactly.',
  ].join('\n'),
  options: {
    space: { type: 'string' },
    budget: { type: 'string' },
    resume: { type: 'boolean' },
    overwrite: { type: 'boolean' },
  },
  async run(values) {
    if (!values.space) throw new UsageError('--space is required (see geoseg search --help)');
    if (!values.budget) throw new UsageError('--budget is required, e.g. --budget 60m');
    if (values.resume && values.overwrite) throw new UsageError('--resume and --overwrite exclude each other');
    const budgetMinutes = parseBudget(String(values.budget));
    const space = readSearchSpace(String(values.space));
    const interrupt = catchInterrupt('saving the trial\'s checkpoint (Ctrl-C again to quit at once)');
    try {
      const r = await runSearch(space, {
        budgetMinutes, resume: Boolean(values.resume), overwrite: Boolean(values.overwrite),
        shouldStop: interrupt.stopRequested, log: values.json ? undefined : (line) => process.stderr.write(`${line}\n`),
      });
      const s = r.state;
      const pct = (x: number | null) => (x === null ? '—' : (100 * x).toFixed(2));
      const rows = s.trials.map((t) => [t.rung, t.candidate, t.iterations, pct(t.mIoU), t.seconds === null ? '—' : t.seconds.toFixed(0), t.error ?? describeParams(s.candidates[t.candidate])]);
      const lines = [table(['rung', 'candidate', 'iterations', 'mIoU', 'seconds', 'settings'], rows)];
      if (r.interrupted) lines.push(`stopped; geoseg search --space ${values.space} --budget ${values.budget} --resume continues`);
      else lines.push(`best: candidate ${s.best!.candidate} (${describeParams(s.best!.params)}), mIoU ${pct(s.best!.mIoU)} → ${s.best!.config}`);
      return { result: { ...s, out: r.out, interrupted: r.interrupted }, text: lines.join('\n'), exitCode: r.interrupted ? 130 : 0 };
    } finally {
      interrupt.release();
    }
  },
};
