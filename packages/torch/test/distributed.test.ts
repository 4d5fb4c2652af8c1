// c10d through the binding: real processes, a real TCPStore and Gloo over loopback. The expected
// numbers are the collectives' definitions on hand-picked inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../src/index.js';

const worker = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'distributed-worker.ts');
const gloo = torch.distributed.availableBackends().gloo;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

interface Result { code: number | null; out: Record<string, unknown> }

/**
 * Run the given ranks of a worldSize-rank job (the others never start); `place(rank)` may put a
 * rank in a network namespace with its own address.
 */
async function job(scenario: string, worldSize: number, ranks: number[], env: Record<string, string> = {},
  place?: (rank: number) => { prefix: string[]; env: Record<string, string> }): Promise<Result[]> {
  const port = await freePort();
  return Promise.all(ranks.map((rank) => new Promise<Result>((resolve) => {
    const where = place?.(rank) ?? { prefix: [], env: {} };
    const [command, ...args] = [...where.prefix, process.execPath, '--import', 'tsx', worker, scenario];
    const child = spawn(command!, args, {
      env: { ...process.env, RANK: String(rank), WORLD_SIZE: String(worldSize), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), OMP_NUM_THREADS: '1', ...env, ...where.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (b) => { stdout += b; });
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      resolve({ code, out: line ? JSON.parse(line) : {} });
    });
  })));
}

test('placement from the environment: torchrun variables, SLURM variables and node lists, a lone process', () => {
  const p = torch.distributed.placementFromEnvironment;
  assert.deepEqual(p({}), { rank: 0, worldSize: 1, localRank: 0, localWorldSize: 1, masterAddr: '127.0.0.1', masterPort: 29500 });
  assert.deepEqual(p({ RANK: '3', WORLD_SIZE: '4', LOCAL_RANK: '1', LOCAL_WORLD_SIZE: '2', MASTER_ADDR: '10.0.0.2', MASTER_PORT: '1234' }),
    { rank: 3, worldSize: 4, localRank: 1, localWorldSize: 2, masterAddr: '10.0.0.2', masterPort: 1234 });
  // inside an srun step
  assert.deepEqual(p({ SLURM_STEP_ID: '0', SLURM_PROCID: '5', SLURM_STEP_NUM_TASKS: '8', SLURM_NTASKS: '16', SLURM_LOCALID: '1', SLURM_STEP_TASKS_PER_NODE: '2(x4)', SLURM_JOB_NODELIST: 'gpu[03-05,07]' }),
    { rank: 5, worldSize: 8, localRank: 1, localWorldSize: 2, masterAddr: 'gpu03', masterPort: 29500 });
  // a plain command in an sbatch script (no step) is one process
  assert.equal(p({ SLURM_PROCID: '0', SLURM_NTASKS: '4' }).worldSize, 1);
  assert.equal(torch.distributed.firstSlurmHost('nodeA,nodeB'), 'nodeA');
  assert.throws(() => p({ RANK: '2', WORLD_SIZE: '2' }), /rank 2 is not below the world size 2/);
  assert.throws(() => p({ RANK: 'x' }), /RANK=x: expected a non-negative integer/);
});

test('two ranks over loopback: all-reduce (sum, avg, max), broadcast, all-gather, async work, the store, barrier', { skip: !gloo && 'no Gloo in this build' }, async () => {
  const results = await job('collectives', 2, [0, 1]);
  for (const { code, out } of results) {
    assert.equal(code, 0, JSON.stringify(out));
    assert.deepEqual(out.sum, [1 + 2, 10 + 20, 0 - 1]);
    assert.deepEqual(out.avg, [(1 + 2) / 2, (0 + 2) / 2]);
    assert.deepEqual(out.max, [1, 0]);
    assert.deepEqual(out.broadcast, [107]);
    assert.deepEqual(out.gathered, [[0, 0], [1, 1]]);
    assert.equal(out.fromOther, `from ${((out.rank as number) + 1) % 2}`);
    assert.equal(out.counterAfterBarrier, 2);
  }
  assert.deepEqual(results.map((r) => r.out.rank), [0, 1]);
});

test('a peer that never arrives is a timeout error naming the rank and the address, and the ranks missing, not a hang', { skip: !gloo && 'no Gloo in this build' }, async () => {
  // ranks 0 and 2 of 3 start (rank 0 serves the store): rank 0 names rank 1 (the store-based
  // arrival barrier every backend passes first, as NCCL connects only at its first collective);
  // so does rank 2, unless rank 0 gave up first (it waits a second longer, but rank 2 may have
  // started later) and took the store with it, which rank 2 then says
  const results = await job('collectives', 3, [0, 2], { DIST_TIMEOUT_MS: '2000' });
  for (const [i, r] of results.entries()) {
    assert.equal(r.code, 1);
    const missing = 'rank 1 did not arrive within 2000 ms';
    const cause = i === 0 ? missing : `(${missing}|the rendezvous store \\(rank 0 serves it\\) went away while this rank waited for the others to arrive)`;
    assert.match(String(r.out.error), new RegExp(`^distributed: rank ${[0, 2][i]} of 3 \\(127\\.0\\.0\\.1:\\d+\\): ${cause}`));
    assert.equal(r.out.name, 'DistributedError');
    assert.ok((r.out.ms as number) < 15000, `failed after ${r.out.ms} ms`);
  }
  // rank 0, which serves the store, never starts: the others cannot reach the rendezvous
  const [r1] = await job('collectives', 2, [1], { DIST_TIMEOUT_MS: '2000' });
  assert.equal(r1!.code, 1);
  assert.match(String(r1!.out.error), /^distributed: rank 1 of 2 \(127\.0\.0\.1:\d+\): the rendezvous store \(rank 0 serves it\)/);
  assert.ok((r1!.out.ms as number) < 15000, `failed after ${r1!.out.ms} ms`);
});

test('the device of a worker: plain cuda is its local rank\'s GPU, its one chosen GPU, or the GPUs in turn when they may be shared; NCCL\'s error handling by libtorch version', () => {
  const device = torch.distributed.localCudaDevice;
  const gpus = (count: number, chosen = false) => ({ count, chosen });
  // NCCL: one GPU per process
  assert.equal(device({ localRank: 3, localWorldSize: 4 }, gpus(4), true), 'cuda:3'); // torchrun, 4 GPUs visible to each
  assert.equal(device({ localRank: 1, localWorldSize: 2 }, gpus(8), true), 'cuda:1');
  assert.equal(device({ localRank: 3, localWorldSize: 4 }, gpus(1, true), true), 'cuda:0'); // srun --gpus-per-task=1
  assert.equal(device({ localRank: 0, localWorldSize: 1 }, gpus(1), true), 'cuda:0');
  // every process of the machine refuses alike, not only the ranks past the GPUs
  for (const localRank of [0, 1, 2]) {
    assert.throws(() => device({ localRank, localWorldSize: 3 }, gpus(2), true), /3 processes on this machine but 2 CUDA devices visible, and NCCL needs one per process/);
  }
  assert.throws(() => device({ localRank: 0, localWorldSize: 2 }, gpus(1), true), /2 processes on this machine but 1 CUDA device visible/); // one GPU shared
  assert.throws(() => device({ localRank: 0, localWorldSize: 1 }, gpus(0), true), /sees no CUDA device/);
  // may share (Gloo, prediction workers): in turn
  assert.deepEqual([0, 1, 2].map((localRank) => device({ localRank, localWorldSize: 3 }, gpus(2), false)), ['cuda:0', 'cuda:1', 'cuda:0']);
  assert.equal(torch.distributed.workerDevice('cpu', { localRank: 1, localWorldSize: 2 }, true), 'cpu');
  assert.equal(torch.distributed.workerDevice('cuda:1', { localRank: 0, localWorldSize: 2 }, true), 'cuda:1');
  if (!torch.cuda.isAvailable()) assert.throws(() => torch.distributed.workerDevice('cuda', { localRank: 0, localWorldSize: 1 }, false), /sees no CUDA device/);
  const nccl = torch.distributed.ncclEnvironmentDefaults;
  assert.deepEqual(nccl('1.13.0', {}), { TORCH_NCCL_ASYNC_ERROR_HANDLING: '1', NCCL_ASYNC_ERROR_HANDLING: '1' });
  assert.deepEqual(nccl('2.1.2', {}), { TORCH_NCCL_ASYNC_ERROR_HANDLING: '1', NCCL_ASYNC_ERROR_HANDLING: '1' });
  assert.deepEqual(nccl('2.2.0', {}), {}); // on by default there (3)
  assert.deepEqual(nccl('2.5.1+cu124', {}), {});
  assert.deepEqual(nccl('1.13.0', { NCCL_BLOCKING_WAIT: '1' }), {});
  assert.deepEqual(nccl('1.13.0', { TORCH_NCCL_ASYNC_ERROR_HANDLING: '0' }), {});
});

test('a peer that dies makes the next collective fail on the others, within the timeout', { skip: !gloo && 'no Gloo in this build' }, async () => {
  const [r0, r1] = await job('peer-dies', 2, [0, 1], { DIST_TIMEOUT_MS: '5000' });
  assert.equal(r1!.code, 3);
  assert.equal(r0!.code, 1, JSON.stringify(r0!.out));
  assert.match(String(r0!.out.error), /^distributed: rank 0 of 2 \(127\.0\.0\.1:\d+\): allReduce: /);
  assert.ok((r0!.out.ms as number) < 20000);
});

test('synchronized batch norm over 2 ranks equals batch norm over the whole batch: outputs, gradients, running statistics', { skip: !gloo && 'no Gloo in this build' }, async () => {
  const results = await job('syncbn', 2, [0, 1]);
  for (const { code, out } of results) {
    assert.equal(code, 0, JSON.stringify(out));
    assert.ok((out.inputGradScale as number) > 0.1, 'the gradients are not trivially zero');
    for (const key of ['output', 'inputGrad', 'weightGrad', 'biasGrad', 'runningMean', 'runningVar']) {
      assert.ok((out[key] as number) < 1e-12, `${key}: max difference ${out[key]} (float64)`);
    }
  }
});

test('backward with gradients averaged as they become ready: equal to each gradient\'s own all-reduce, buckets started during backward, unused, frozen and partly used parameters, channels-last', { skip: !gloo && 'no Gloo in this build' }, async () => {
  const results = await job('backward-averaged', 2, [0, 1]);
  for (const { code, out } of results) {
    assert.equal(code, 0, JSON.stringify(out));
    assert.ok((out.scale as number) > 1e-3, 'the ranks\' gradients differ (else averaging proves nothing)');
    assert.ok((out.maxDiff as number) <= 1e-15, `max difference from the reference ${out.maxDiff} (float64: (a + b) / 2 either way)`);
    // layer 0's unused weight (0) and layer 1's frozen bias (3) stay without gradients; the
    // convolution's bias (11), used on rank 1 only, has rank 1's gradient halved on both ranks
    assert.deepEqual(out.gradless, [0, 3]);
    assert.equal(out.channelsLastGrad, true, 'the convolution weight\'s gradient is channels-last (the copy back honours its strides)');
    // 11 trainable parameters, last first, in 3000-byte buckets (a 100-byte first): [conv bias,
    // conv], [b4, w4, b3, w3], [b2, w2], [w1], [b0, w0], all started before backward returned (the
    // unused w0 is ready from the start, so its bucket does not wait for the end)
    assert.equal(out.buckets, 5);
    assert.equal(out.startedInBackward, 5);
    assert.deepEqual(out.oneBucket, { buckets: 1, startedInBackward: 1, same: true });
    assert.match(out.refused as string, /parameters\[1\] is computed from other tensors/);
    assert.equal(out.plainAfter, true);
  }
});

test('a peer that dies fails the averaged backward on the others, naming the rank, not a hang', { skip: !gloo && 'no Gloo in this build' }, async () => {
  const [first] = await job('backward-peer-dies', 2, [0, 1], { DIST_TIMEOUT_MS: '10000' });
  assert.equal(first!.code, 1);
  assert.equal(first!.out.name, 'DistributedError');
  assert.match(first!.out.error as string, /rank 0 of 2 .*backward/);
  assert.ok((first!.out.ms as number) < 15000, `took ${first!.out.ms} ms`);
});

/** Two network namespaces joined by a veth pair (two hosts on this machine), or null where this process may not make them. */
function twoHosts(): { names: [string, string]; addresses: [string, string]; links: [string, string]; remove: () => void } | null {
  if (process.getuid?.() !== 0) return null;
  const tag = String(process.pid % 100000);
  const names: [string, string] = [`gs${tag}a`, `gs${tag}b`];
  const links: [string, string] = [`gs${tag}va`, `gs${tag}vb`];
  const subnet = `10.${77 + (process.pid % 100)}.${process.pid % 250}`;
  const addresses: [string, string] = [`${subnet}.1`, `${subnet}.2`];
  const ip = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8' });
  const remove = () => { for (const n of names) ip('netns', 'del', n); };
  const steps = [
    ['netns', 'add', names[0]], ['netns', 'add', names[1]],
    ['link', 'add', links[0], 'type', 'veth', 'peer', 'name', links[1]],
    ['link', 'set', links[0], 'netns', names[0]], ['link', 'set', links[1], 'netns', names[1]],
    ...[0, 1].flatMap((i) => [
      ['-n', names[i]!, 'addr', 'add', `${addresses[i]}/24`, 'dev', links[i]!],
      ['-n', names[i]!, 'link', 'set', links[i]!, 'up'], ['-n', names[i]!, 'link', 'set', 'lo', 'up'],
    ]),
  ];
  for (const step of steps) {
    if (ip(...step).status !== 0) { remove(); return null; }
  }
  return { names, addresses, links, remove };
}

test('two hosts: ranks in two network namespaces joined by a veth pair, each with its own address, rendezvous at the other\'s', async (t) => {
  const hosts = gloo ? twoHosts() : null;
  if (!hosts) { t.skip('needs Gloo and root to make network namespaces'); return; }
  try {
    const results = await job('collectives', 2, [0, 1], { MASTER_ADDR: hosts.addresses[0] }, (rank) => ({
      prefix: ['ip', 'netns', 'exec', hosts.names[rank]!],
      env: { GLOO_SOCKET_IFNAME: hosts.links[rank]! },
    }));
    for (const { code, out } of results) {
      assert.equal(code, 0, JSON.stringify(out));
      assert.deepEqual(out.sum, [3, 30, -1]);
      assert.deepEqual(out.gathered, [[0, 0], [1, 1]]);
    }
  } finally {
    hosts.remove();
  }
});
