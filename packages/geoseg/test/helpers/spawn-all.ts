// Several CLI processes at once (a few at a time): tests that check many one-line refusals spend
// most of their time starting processes, which overlap well.
import { spawn } from 'node:child_process';

export interface SpawnResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs each [command, ...args] with at most `concurrency` alive; results in the given order. */
export async function spawnAll(commands: string[][], { concurrency = 4, cwd = undefined as string | undefined } = {}): Promise<SpawnResult[]> {
  const results: SpawnResult[] = new Array(commands.length);
  let next = 0;
  const worker = async () => {
    while (next < commands.length) {
      const i = next++;
      const [cmd, ...args] = commands[i];
      results[i] = await new Promise<SpawnResult>((resolve, reject) => {
        const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd });
        let stdout = '', stderr = '';
        child.stdout.on('data', (d) => { stdout += d; });
        child.stderr.on('data', (d) => { stderr += d; });
        child.on('error', reject);
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, commands.length) }, worker));
  return results;
}
