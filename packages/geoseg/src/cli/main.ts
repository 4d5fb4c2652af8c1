#!/usr/bin/env node
// geoseg <command> [options]: thin commands that parse, validate and call the library.
import * as torch from '@geoseg/torch';
import { GeosegError } from '../errors.js';
import { parse, UsageError, type Command } from './command.js';
import { modelsCommand } from './models.js';
import { prepareCommand } from './prepare.js';
import { splitCommand } from './split.js';
import { augmentCommand } from './augment.js';
import { statsCommand } from './stats.js';
import { discoverCommand } from './discover.js';
import { refineLabelsCommand } from './refine-labels.js';
import { trainCommand } from './train.js';
import { searchCommand } from './search.js';
import { evalCommand } from './eval.js';
import { predictCommand } from './predict.js';
import { serveCommand } from './serve.js';
import { takeWarnings } from './bf16-warning.js';

const COMMANDS: Command[] = [prepareCommand, statsCommand, splitCommand, augmentCommand, discoverCommand, refineLabelsCommand, trainCommand, searchCommand, evalCommand, predictCommand, serveCommand, modelsCommand];

function help(): string {
  return ['usage: geoseg <command> [options]', '', 'commands:', ...COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`), '',
    'Every command takes --help and --json.'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  // One malloc arena before libtorch's threads start: lower peak memory, no slower (see README, Performance).
  torch.setMallocArenaMax(1);
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(help() + '\n');
    return name ? 0 : 2;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  try {
    if (!cmd) throw new UsageError(`unknown command '${name}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
    const { values, positionals } = parse(cmd, rest);
    if (values.help) {
      process.stdout.write(`usage: ${cmd.usage}\n\n${cmd.summary}\n`);
      return 0;
    }
    const { result, text, exitCode, silent } = (await cmd.run(values, positionals)) as { result: unknown; text: string; exitCode?: number; silent?: boolean };
    // silent: the command's workers printed the output (a data-parallel launch)
    if (!silent) process.stdout.write(values.json ? JSON.stringify(result) + '\n' : text + '\n');
    for (const w of takeWarnings()) process.stderr.write(`${w}\n`);
    return exitCode ?? 0;
  } catch (e) {
    const known = e instanceof UsageError || e instanceof GeosegError;
    process.stderr.write(`geoseg: ${(e as Error).message.split('\n')[0]}\n`);
    if (!known && process.env.GEOSEG_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

// Exit at once rather than letting node tear its heap down: gdal-async frees the geometries it
// owns (polygons from `predict --vector`) in weak callbacks that crash (SIGSEGV) when they run
// during isolate teardown, after the command succeeded. stdout and stderr are synchronous on
// POSIX pipes, files and terminals, so nothing written is lost.
main(process.argv.slice(2)).then((code) => process.exit(code));
