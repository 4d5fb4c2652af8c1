// Where a process stands in a distributed job, from the variables launchers set: torchrun's
// (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), then, inside an
// srun step (SLURM_STEP_ID set: not a plain command in an sbatch script), SLURM's
// (SLURM_PROCID, SLURM_STEP_NUM_TASKS, SLURM_LOCALID, SLURM_STEP_TASKS_PER_NODE, the first host of
// SLURM_JOB_NODELIST).

export interface Placement {
  rank: number;
  worldSize: number;
  localRank: number;
  /** Processes of the job on this machine. */
  localWorldSize: number;
  masterAddr: string;
  masterPort: number;
}

type Env = Readonly<Record<string, string | undefined>>;

const DEFAULT_PORT = 29500; // torchrun's

function integer(env: Env, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`distributed: ${name}=${v}: expected a non-negative integer`);
  return n;
}

/** The first host of a SLURM node list: 'gpu[03-05,07],cpu1' → 'gpu03'. */
export function firstSlurmHost(nodelist: string): string {
  const m = /^([^,[]+)(?:\[([^\]]+)\])?/.exec(nodelist.trim());
  if (!m) throw new Error(`distributed: SLURM_JOB_NODELIST=${nodelist}: not a node list`);
  const [, prefix, ranges] = m;
  if (!ranges) return prefix!;
  const first = ranges.split(',')[0]!.split('-')[0]!;
  return `${prefix}${first}`;
}

/** SLURM's tasks per node ('2(x3),1' → the first count; this node's in the common uniform case). */
function slurmTasksPerNode(v: string | undefined): number | undefined {
  const m = v === undefined ? null : /^(\d+)/.exec(v);
  return m ? Number(m[1]) : undefined;
}

/** The placement the environment describes (a single process when it describes none). */
export function placementFromEnvironment(env: Env = process.env): Placement {
  const slurm = env.RANK === undefined && env.SLURM_STEP_ID !== undefined && env.SLURM_PROCID !== undefined;
  const rank = integer(env, slurm ? 'SLURM_PROCID' : 'RANK') ?? 0;
  const worldSize = (slurm ? integer(env, 'SLURM_STEP_NUM_TASKS') ?? integer(env, 'SLURM_NTASKS') : integer(env, 'WORLD_SIZE')) ?? 1;
  const localRank = integer(env, slurm ? 'SLURM_LOCALID' : 'LOCAL_RANK') ?? 0;
  const localWorldSize = (slurm ? slurmTasksPerNode(env.SLURM_STEP_TASKS_PER_NODE ?? env.SLURM_NTASKS_PER_NODE) : integer(env, 'LOCAL_WORLD_SIZE')) ?? 1;
  const nodelist = env.SLURM_JOB_NODELIST ?? env.SLURM_NODELIST;
  const masterAddr = env.MASTER_ADDR || (slurm && nodelist ? firstSlurmHost(nodelist) : '127.0.0.1');
  const masterPort = integer(env, 'MASTER_PORT') ?? DEFAULT_PORT;
  if (worldSize < 1) throw new Error('distributed: the world size must be at least 1');
  if (localWorldSize < 1) throw new Error('distributed: the local world size must be at least 1');
  if (rank >= worldSize) throw new Error(`distributed: rank ${rank} is not below the world size ${worldSize}`);
  return { rank, worldSize, localRank, localWorldSize, masterAddr, masterPort };
}

/**
 * What NCCL needs from the environment so that a dead or stuck peer ends the job within the
 * timeout instead of hanging it, given libtorch's version: before 2.2 its watchdog's error
 * handling is off unless NCCL_ASYNC_ERROR_HANDLING is set (and TORCH_NCCL_… is the later name);
 * from 2.2 it is on by default (3), and forcing 1 would bring back an abort that can itself hang.
 * Nothing when the user chose. The variables to add to `env`.
 */
export function ncclEnvironmentDefaults(libtorchVersion: string, env: Env = process.env): Record<string, string> {
  const names = ['TORCH_NCCL_ASYNC_ERROR_HANDLING', 'NCCL_ASYNC_ERROR_HANDLING', 'TORCH_NCCL_BLOCKING_WAIT', 'NCCL_BLOCKING_WAIT'];
  if (names.some((n) => env[n] !== undefined && env[n] !== '')) return {};
  const [major = 0, minor = 0] = libtorchVersion.split('.').map((v) => Number.parseInt(v, 10));
  if (major > 2 || (major === 2 && minor >= 2)) return {};
  return { TORCH_NCCL_ASYNC_ERROR_HANDLING: '1', NCCL_ASYNC_ERROR_HANDLING: '1' };
}
