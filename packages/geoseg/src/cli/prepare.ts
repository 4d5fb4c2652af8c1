// geoseg prepare: scenes + labels + classes → a prepared dataset folder.
import { prepare } from '../data/prepare.js';
import { UsageError, type Command } from './command.js';

export const prepareCommand: Command = {
  name: 'prepare',
  summary: 'tile scenes and labels into a prepared dataset (class counts, normalization)',
  usage: 'geoseg prepare --images <dir|file> --labels <dir|file> --classes <file> --out <dir> [--tile 512] [--overlap 0.25] [--unknown ignore|error] [--json]',
  options: {
    images: { type: 'string' },
    labels: { type: 'string' },
    classes: { type: 'string' },
    out: { type: 'string' },
    tile: { type: 'string', default: '512' },
    overlap: { type: 'string', default: '0.25' },
    unknown: { type: 'string', default: 'ignore' },
  },
  async run(values) {
    for (const name of ['images', 'labels', 'classes', 'out']) {
      if (!values[name]) throw new UsageError(`--${name} is required (see geoseg prepare --help)`);
    }
    const unknown = String(values.unknown);
    if (unknown !== 'ignore' && unknown !== 'error') throw new UsageError(`--unknown must be ignore or error, got '${unknown}'`);
    const tile = Number(values.tile);
    const overlap = Number(values.overlap);
    const summary = await prepare({
      images: String(values.images), labels: String(values.labels), classes: String(values.classes), out: String(values.out),
      tile, overlap, unknown, progress: !values.json,
    });
    const unknownText = Object.entries(summary.unknown).map(([k, n]) => `${k}: ${n} px`).join(', ');
    return {
      result: summary,
      text: [`prepared ${summary.scenes} scenes into ${summary.tiles} tiles of ${tile} px at ${summary.out}`,
        `${summary.megapixels.toFixed(1)} Mpx in ${summary.seconds.toFixed(1)} s (${summary.megapixelsPerSecond.toFixed(2)} Mpx/s)`,
        ...(unknownText ? [`values not in the class table (set to ignore): ${unknownText}`] : [])].join('\n'),
    };
  },
};
