// geoseg serve: the web viewer over folders of runs, maps and rasters, until Ctrl-C.
import { existsSync, statSync } from 'node:fs';
import { serve } from '../server/index.js';
import { UsageError, type Command } from './command.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'web viewer: runs, learning curves, confusion matrices, maps of predictions over imagery',
  usage: [
    'geoseg serve [root ...] [--host 127.0.0.1] [--port 8321] [--json]',
    '  Serves the runs (folders with config.json + log.jsonl) and maps (folders with map.json) under',
    '  each root, default ./runs if it exists, else the current folder. Only files under the roots are',
    '  served. Prints the URL (with --json: {"url", "roots"}) and runs until Ctrl-C.',
  ].join('\n'),
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8321' },
  },
  async run(values, positionals) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number (0-65535), got '${values.port}'`);
    const roots = positionals.length > 0 ? positionals : [existsSync('runs') && statSync('runs').isDirectory() ? 'runs' : '.'];
    const s = await serve({ roots, host: String(values.host), port });
    process.stdout.write(values.json ? JSON.stringify({ url: s.url, roots: s.roots }) + '\n' : `geoseg serve: ${s.url} (serving ${s.roots.join(', ')}; Ctrl-C to stop)\n`);
    // Runs until a signal; exits here so the command prints nothing more (one JSON object with --json).
    await new Promise<never>(() => {
      const stop = () => { void s.close().then(() => process.exit(0)); };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return undefined;
  },
};
