// Starting the worker processes of a data-parallel job, as `torchrun --nproc-per-node` does: one
// child per local rank running the same command, with the variables every launcher sets (RANK,
// WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT). The first worker to fail
// ends the others (SIGTERM, then SIGKILL after a grace period) and its exit code is the job's; a
// worker that stopped on request (exit 130) is not a failure. Workers run in their own process
// group, so a signal reaches each once: the launcher forwards SIGINT and SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import * as torch from '@geoseg/torch';
import { UsageError } from './command.js';

export interface LaunchOptions {
  nproc: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  /** Undefined: a free port on a single machine, 29500 (torchrun's) across machines. */
  masterPort?: number;
}

const GRACE_MS = 10_000;

/** The launch flags of a command, checked ('--nproc', '--nnodes', …). */
export function launchOptions(values: Record<string, unknown>): LaunchOptions | null {
  if (values.nproc === undefined && values.nnodes === undefined) return null;
  const int = (name: string, v: unknown, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name}: ${String(v)}: expected an integer ≥ ${min}`);
    return n;
  };
  const nproc = int('nproc', values.nproc ?? 1, 1);
  const nnodes = int('nnodes', values.nnodes ?? 1, 1);
  const nodeRank = int('node-rank', values['node-rank'] ?? 0, 0);
  if (nodeRank >= nnodes) throw new UsageError(`--node-rank: ${nodeRank} is not below --nnodes ${nnodes}`);
  if (nnodes > 1 && values['master-addr'] === undefined) throw new UsageError('--master-addr is required with --nnodes > 1 (the address of node 0, which every node can reach)');
  const masterPort = values['master-port'] === undefined ? undefined : int('master-port', values['master-port'], 1);
  return { nproc, nnodes, nodeRank, masterAddr: String(values['master-addr'] ?? '127.0.0.1'), masterPort };
}

const LAUNCH_FLAGS = ['nproc', 'nnodes', 'node-rank', 'master-addr', 'master-port'];

/** The launch flags' options, for a command's option table. */
export const LAUNCH_OPTIONS = Object.fromEntries(LAUNCH_FLAGS.map((f) => [f, { type: 'string' as const }]));

/** This process's command line without the launch flags: what each worker runs. */
export function workerArgs(argv: string[] = process.argv.slice(2)): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = LAUNCH_FLAGS.find((f) => argv[i] === `--${f}` || argv[i]!.startsWith(`--${f}=`));
    if (flag === undefined) out.push(argv[i]!);
    else if (argv[i] === `--${flag}`) i++; // its value
  }
  return out;
}

/** A worker's share of this machine's cores (the job's processes on this machine). */
export function workerThreads(): number {
  return Math.max(1, Math.floor(availableParallelism() / torch.distributed.placementFromEnvironment().localWorldSize));
}

/**
 * The process group this process belongs to when a launcher started it (torchrun, srun, ours):
 * NCCL for work on CUDA devices when this build has it (as PyTorch users run DDP on GPUs), else
 * Gloo (which reduces CUDA tensors too, through host memory).
 */
export function launchedGroup(opts: { timeout?: number; cuda?: boolean } = {}): torch.distributed.ProcessGroup | undefined {
  if (torch.distributed.placementFromEnvironment().worldSize <= 1) return undefined;
  const backend = opts.cuda && torch.distributed.availableBackends().nccl ? 'nccl' : 'gloo';
  return torch.distributed.initProcessGroup({ timeout: opts.timeout, backend });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** A command's result when it only launched workers: they printed the output, their code is its. */
export async function launchedResult(o: LaunchOptions): Promise<{ result: { exitCode: number }; text: string; exitCode: number; silent: true }> {
  const code = await launchWorkers(workerArgs(), o);
  return { result: { exitCode: code }, text: '', exitCode: code, silent: true };
}

/**
 * Run `args` (this CLI's arguments without the launch flags) in o.nproc worker processes; resolves
 * to the job's exit code.
 */
export async function launchWorkers(args: string[], o: LaunchOptions): Promise<number> {
  const port = o.masterPort ?? (o.nnodes === 1 ? await freePort() : 29500);
  const worldSize = o.nproc * o.nnodes;
  const children: ChildProcess[] = [];
  let failure: number | null = null;
  const endOthers = (except: ChildProcess) => {
    for (const c of children) if (c !== except && c.exitCode === null) c.kill('SIGTERM');
    setTimeout(() => { for (const c of children) if (c.exitCode === null) c.kill('SIGKILL'); }, GRACE_MS).unref();
  };
  // Ctrl-C (or a scheduler's SIGTERM) reaches the launcher: each worker gets it once, stops at
  // the same step as the others and saves; a second one makes them quit at once.
  const forward = (signal: NodeJS.Signals) => () => { for (const c of children) if (c.exitCode === null) c.kill(signal); };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const exits = Array.from({ length: o.nproc }, (_, local) => {
      const rank = o.nodeRank * o.nproc + local;
      const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], {
        stdio: 'inherit',
        detached: true,
        env: {
          ...process.env, RANK: String(rank), WORLD_SIZE: String(worldSize), LOCAL_RANK: String(local), LOCAL_WORLD_SIZE: String(o.nproc),
          MASTER_ADDR: o.masterAddr, MASTER_PORT: String(port),
        },
      });
      children.push(child);
      return new Promise<number>((resolve) => {
        child.on('exit', (code, signal) => {
          const status = code ?? (signal === 'SIGINT' ? 130 : 1);
          if (status === 130) failure ??= 130; // stopped on request, as the others will be
          else if (status !== 0 && (failure === null || failure === 130)) {
            failure = status;
            process.stderr.write(`geoseg: worker ${rank} of ${worldSize} exited with ${code ?? signal}; stopping the others\n`);
            endOthers(child);
          }
          resolve(status);
        });
      });
    });
    await Promise.all(exits);
    return failure ?? 0;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
