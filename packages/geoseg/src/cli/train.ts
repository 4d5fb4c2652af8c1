// geoseg train --config run.yaml [--resume]: train a model; Ctrl-C saves a checkpoint and exits.
// With --nproc (and --nnodes …) it starts data-parallel workers; under a launcher (torchrun, srun,
// its own) it joins their process group.
import * as torch from '@geoseg/torch';
import { readTrainConfig } from '../train/config.js';
import { dataParallelLengthIssue } from '../train/data-parallel.js';
import { LAUNCH_OPTIONS, launchedGroup, launchedResult, launchOptions, workerThreads } from './launch.js';
import { budgetNote, train } from '../train/trainer.js';
import { formatMetricsTable } from '../metrics/index.js';
import { UsageError, type Command } from './command.js';
import { catchInterrupt } from './interrupt.js';
import { warnBf16 } from './bf16-warning.js';

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a model from a run config (checkpoints, log, validation; --resume continues)',
  usage: [
    'geoseg train --config run.yaml [--resume | --overwrite] [--json]',
    '             [--nproc N [--nnodes M --node-rank R --master-addr HOST] [--master-port P]]',
    '  Writes <out>/config.json, <out>/log.jsonl and <out>/checkpoints/{latest,best}/',
    '  (model.safetensors, optimizer.safetensors, meta.json). Ctrl-C saves latest and exits;',
    '  --resume continues from latest exactly as an uninterrupted run; a run folder that already holds',
    '  a run needs --resume or --overwrite (starts over: its config, log and checkpoints are removed).',
    '  One trainer per run folder: <out>/running.json holds it while training.',
    '  --nproc N: N data-parallel worker processes on this machine (data.batch per worker, gradients',
    '  averaged, rank 0 writes the run); --nnodes/--node-rank/--master-addr/--master-port: several',
    '  machines, run once on each. Under torchrun or srun (RANK, WORLD_SIZE, … set) it joins their job.',
  ].join('\n'),
  options: {
    config: { type: 'string' },
    resume: { type: 'boolean' },
    overwrite: { type: 'boolean' },
    ...LAUNCH_OPTIONS,
  },
  async run(values) {
    if (!values.config) throw new UsageError('--config is required (see geoseg train --help)');
    const where = String(values.config);
    const cfg = readTrainConfig(where);
    const launch = launchOptions(values);
    const lengthIssue = launch || torch.distributed.placementFromEnvironment().worldSize > 1 ? dataParallelLengthIssue(cfg) : null;
    if (lengthIssue) throw new UsageError(`${where}: ${lengthIssue}`);
    if (launch) return launchedResult(launch);
    if (cfg.train.precision === 'bf16-mixed') warnBf16(cfg.train.device, `${where}: train.precision: bf16-mixed`);
    // under a launcher: this process's group, and its share of the machine's cores
    const group = launchedGroup({ cuda: cfg.train.device === 'cuda' });
    const threads = group && cfg.train.threads === null ? workerThreads() : undefined;
    const interrupt = catchInterrupt('saving a checkpoint (Ctrl-C again to quit at once)');
    try {
      const s = await train(cfg, { resume: Boolean(values.resume), overwrite: Boolean(values.overwrite), progress: !values.json, where, shouldStop: interrupt.stopRequested, group, threads });
      if (group && group.rank > 0) {
        // rank 0 reports the run; the others say only that they are done
        return { result: s, text: '', exitCode: s.stoppedEarly ? 130 : 0, silent: true };
      }
      const lines = [
        `${s.stoppedEarly ? 'stopped' : 'trained'} at step ${s.steps} (${s.steps - s.startedAt} this run, ${s.itPerSecond.toFixed(2)} it/s, ${s.trainSeconds.toFixed(0)} s); last loss ${s.lastLoss.toFixed(4)}`,
        ...(s.fit && s.scheduleLength !== null ? [`schedule: ${s.scheduleLength} iterations, fitted to ${cfg.train.minutes} minutes (${s.fit.estimates.length} estimates; see the 'schedule' lines of log.jsonl)`] : []),
        ...(s.endReason === 'budget' ? [budgetNote(cfg.train.minutes!, s.steps, s.scheduleLength) + (s.fit ? '' : ' (give train.minutes alone to fit the schedule to the budget)')] : []),
        `data: waited ${s.dataWaitSeconds.toFixed(2)} s for files, ${s.assembleSeconds.toFixed(1)} s assembling batches`,
      ];
      if (s.lastEval) lines.push(`validation (${s.lastEval.scenes} scenes):`, formatMetricsTable(s.lastEval.metrics, s.classes));
      if (s.best) lines.push(`best mIoU ${(100 * s.best.value).toFixed(2)}% at step ${s.best.step}`);
      lines.push(`run folder: ${s.out}`);
      return { result: s, text: lines.join('\n'), exitCode: s.stoppedEarly ? 130 : 0 };
    } finally {
      interrupt.release();
    }
  },
};
