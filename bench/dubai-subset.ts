// What the short training benches share: running the built CLI, and the in-repo Dubai subset
// (demo/dubai) prepared into a fresh work folder.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'packages/geoseg/dist/cli/main.js');

/** geoseg <args>, its output passed through; throws when it fails. */
export function runGeoseg(args: string[]): void {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`geoseg ${args.join(' ')} failed (${r.status})`);
}

/** A clean .bench-out/<name> with the Dubai subset prepared in it (512 tiles, 0.25 overlap); returns [work, dataset]. */
export function subsetWork(name: string): [string, string] {
  const work = join(repo, '.bench-out', name);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const ds = join(work, 'dataset');
  const dubai = join(repo, 'demo', 'dubai');
  runGeoseg(['prepare', '--images', join(dubai, 'images'), '--labels', join(dubai, 'masks'), '--classes', join(dubai, 'classes.yaml'), '--out', ds, '--tile', '512', '--overlap', '0.25']);
  return [work, ds];
}

/** The 'train' lines of a run's log. */
export function trainLines(run: string): { step: number; loss: number; elapsedSeconds: number; communicationSeconds?: number }[] {
  return readFileSync(join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'train');
}
