// Runs reference scripts under Debian's Python PyTorch (python3-torch), either once (a JSON line
// on stdout) or as a line-oriented server so TS and Python rounds can alternate.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export function pythonWithTorch(): string {
  for (const py of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
      return py;
    } catch { /* try the next */ }
  }
  throw new Error('bench: no Python with torch found (apt-get install python3-torch)');
}

export function runPython(script: string, args: string[] = []): any {
  const out = execFileSync(pythonWithTorch(), [join(here, script), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop()!);
}

/** A Python script answering one line per request line. */
export class PythonServer {
  readonly #proc: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;

  constructor(script: string, args: string[] = []) {
    this.#proc = spawn(pythonWithTorch(), [join(here, script), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#lines = createInterface({ input: this.#proc.stdout })[Symbol.asyncIterator]();
  }

  async read(): Promise<string> {
    const r = await this.#lines.next();
    if (r.done) throw new Error('bench: the Python reference exited early');
    return r.value;
  }

  async ask(line: string): Promise<string> {
    this.#proc.stdin.write(`${line}\n`);
    return this.read();
  }

  close(): void {
    this.#proc.stdin.end();
  }
}
