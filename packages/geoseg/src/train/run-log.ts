// A run's log.jsonl: one JSON object per line (train, eval, schedule, note, start, end entries).
// A resumed run drops the lines past its checkpoint, which it will write again.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurable } from '../durable.js';

export type RunLog = (entry: Record<string, unknown>) => void;

/** The log of run folder `out`: emptied for a new run; for a run resumed at step `start`, cut back to it. */
export function openRunLog(out: string, resume: boolean, start: number): RunLog {
  const file = join(out, 'log.jsonl');
  if (resume && existsSync(file)) {
    // a line cut by a kill is dropped, and so is the 'end' line of the interrupted segment
    const stepOf = (l: string) => { try { const e = JSON.parse(l) as { step: number; type: string }; return e.type === 'end' ? Infinity : e.step; } catch { return Infinity; } };
    const kept = readFileSync(file, 'utf8').split('\n').filter((l) => l && stepOf(l) <= start);
    writeFileDurable(file, kept.map((l) => `${l}\n`).join(''));
  } else if (!resume) writeFileSync(file, '');
  return (entry) => appendFileSync(file, `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
}
