// geoseg prepare: scenes + labels + classes → a prepared dataset folder.
import { prepare } from '../data/prepare.js';
import { UsageError, type Command } from './command.js';

export const prepareCommand: Command = {
  name: 'prepare',
  summary: 'tile scenes and labels into a prepared dataset (class counts, normalization)',
  usage: [
    'geoseg prepare --images <dir|file|glob> --labels <dir|file|glob> --classes <file> --out <dir>',
    '               [--tile 512] [--overlap 0.25] [--unknown ignore|error] [--gsd <metres>]',
    '               [--attribute <field> [--background ignore|<class>]] [--match-histograms <scene.tif|dataset>] [--align <pixels>] [--overwrite] [--json]',
    '  --align R: estimate each label raster\'s shift to its image within ±R pixels (class boundaries on image edges) and apply it.',
    '  --match-histograms: each scene\'s bands histogram-matched to a reference scene or a prepared dataset (integer bands of up to 16 bits).',
    '  Images pair with labels by relative path without extension (a/b.tif ↔ a/b.png); one vector',
    '  file (.geojson .gpkg .shp) may label every scene, its class in the --attribute field (a source id',
    '  or a class name). --gsd resamples every scene (image: average/bilinear, labels: mode/nearest).',
    '  An existing dataset at --out is replaced only with --overwrite; any other folder never is.',
  ].join('\n'),
  options: {
    images: { type: 'string' },
    labels: { type: 'string' },
    classes: { type: 'string' },
    out: { type: 'string' },
    tile: { type: 'string', default: '512' },
    overlap: { type: 'string', default: '0.25' },
    unknown: { type: 'string', default: 'ignore' },
    gsd: { type: 'string' },
    'match-histograms': { type: 'string' },
    align: { type: 'string' },
    attribute: { type: 'string' },
    background: { type: 'string' },
    overwrite: { type: 'boolean' },
  },
  async run(values) {
    for (const name of ['images', 'labels', 'classes', 'out']) {
      if (!values[name]) throw new UsageError(`--${name} is required (see geoseg prepare --help)`);
    }
    const unknown = String(values.unknown);
    if (unknown !== 'ignore' && unknown !== 'error') throw new UsageError(`--unknown must be ignore or error, got '${unknown}'`);
    const tile = Number(values.tile);
    const overlap = Number(values.overlap);
    const gsd = values.gsd === undefined ? undefined : Number(values.gsd);
    if (gsd !== undefined && !(gsd > 0)) throw new UsageError(`--gsd must be a positive number of CRS units per pixel, got '${values.gsd}'`);
    if (values.background !== undefined && values.attribute === undefined) throw new UsageError('--background only applies to vector labels; give --attribute too');
    const vector = values.attribute === undefined ? undefined : { attribute: String(values.attribute), background: values.background === undefined ? undefined : String(values.background) };
    const align = values.align === undefined ? null : Number(values.align);
    if (align !== null && !(Number.isInteger(align) && align >= 1 && align <= 64)) throw new UsageError(`--align: the search radius in pixels, an integer from 1 to 64, got '${values.align}'`);
    const summary = await prepare({
      images: String(values.images), labels: String(values.labels), classes: String(values.classes), out: String(values.out),
      tile, overlap, unknown, gsd, vector, matchHistograms: values['match-histograms'] === undefined ? null : String(values['match-histograms']), align, overwrite: Boolean(values.overwrite), progress: !values.json,
    });
    const unknownText = Object.entries(summary.unknown).map(([k, n]) => `${k}: ${n} px`).join(', ');
    return {
      result: summary,
      text: [`prepared ${summary.scenes} scenes into ${summary.tiles} tiles of ${tile} px at ${summary.out}`,
        `${summary.megapixels.toFixed(1)} Mpx in ${summary.seconds.toFixed(1)} s (${summary.megapixelsPerSecond.toFixed(2)} Mpx/s)`,
        ...(unknownText ? [`values not in the class table (set to ignore): ${unknownText}`] : []),
        ...(align !== null ? [`label shifts applied (label pixel = image pixel + (dx, dy)):`, ...summary.alignments.map((a) => `  ${a.scene}: dx ${a.dx}, dy ${a.dy} (sub-pixel ${a.fx.toFixed(2)}, ${a.fy.toFixed(2)}; edge score ${a.unshiftedScore.toFixed(2)} → ${a.score.toFixed(2)})`)] : [])].join('\n'),
    };
  },
};
