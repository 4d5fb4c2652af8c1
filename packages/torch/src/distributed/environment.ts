// Where a process stands in a distributed job, from the variables launchers set: torchrun's
// (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), then SLURM's
// (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, the first host of SLURM_JOB_NODELIST).

export interface Placement {
  rank: number;
  worldSize: number;
  localRank: number;
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

/** The placement the environment describes (a single process when it describes none). */
export function placementFromEnvironment(env: Env = process.env): Placement {
  const slurm = env.RANK === undefined && env.SLURM_PROCID !== undefined;
  const rank = integer(env, slurm ? 'SLURM_PROCID' : 'RANK') ?? 0;
  const worldSize = integer(env, slurm ? 'SLURM_NTASKS' : 'WORLD_SIZE') ?? 1;
  const localRank = integer(env, slurm ? 'SLURM_LOCALID' : 'LOCAL_RANK') ?? 0;
  const nodelist = env.SLURM_JOB_NODELIST ?? env.SLURM_NODELIST;
  const masterAddr = env.MASTER_ADDR || (slurm && nodelist ? firstSlurmHost(nodelist) : '127.0.0.1');
  const masterPort = integer(env, 'MASTER_PORT') ?? DEFAULT_PORT;
  if (worldSize < 1) throw new Error('distributed: the world size must be at least 1');
  if (rank >= worldSize) throw new Error(`distributed: rank ${rank} is not below the world size ${worldSize}`);
  return { rank, worldSize, localRank, masterAddr, masterPort };
}
