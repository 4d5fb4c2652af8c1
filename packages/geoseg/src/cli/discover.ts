// geoseg discover: cluster scenes by band statistics and texture, contact sheets per cluster,
// and (with --dataset) the scenes unlike any training scene.
import { discover, shortPath } from '../data/discover.js';
import { UsageError, type Command } from './command.js';

export const discoverCommand: Command = {
  name: 'discover',
  summary: 'cluster scenes by band statistics and texture; contact sheets; scenes far from a training set',
  usage: [
    'geoseg discover <scenes: folder|glob|file> --out <folder> [--clusters 4] [--dataset <prepared>] [--seed 0] [--overwrite] [--json]',
    '  Each scene is read as a 256-pixel thumbnail (GDAL average); features: per band mean, std and',
    '  5/50/95th percentiles, gradient and Laplacian energy of the band mean; standardised (by the',
    '  --dataset scenes when given) and clustered by k-means. --out gets discover.json and one',
    '  cluster-<k>.png contact sheet per cluster (nearest the centre first). With --dataset, a scene',
    '  is far when its nearest training scene is farther than any training scene is from its own',
    '  nearest other one. An existing --out is replaced only with --overwrite.',
  ].join('\n'),
  options: {
    out: { type: 'string' },
    clusters: { type: 'string' },
    dataset: { type: 'string' },
    seed: { type: 'string', default: '0' },
    overwrite: { type: 'boolean' },
  },
  async run(values, positionals) {
    if (positionals.length !== 1) throw new UsageError('give the scenes: one folder, glob or file (see geoseg discover --help)');
    if (!values.out) throw new UsageError('--out is required (see geoseg discover --help)');
    const clusters = values.clusters === undefined ? undefined : Number(values.clusters);
    if (clusters !== undefined && !(Number.isInteger(clusters) && clusters >= 1)) throw new UsageError(`--clusters: a positive integer, got '${values.clusters}'`);
    const seed = Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed: a non-negative integer, got '${values.seed}'`);
    const r = await discover({ scenes: positionals[0], out: String(values.out), clusters, dataset: values.dataset === undefined ? null : String(values.dataset), seed, overwrite: Boolean(values.overwrite), progress: !values.json });
    const from = positionals[0].includes('*') ? '.' : positionals[0];
    const far = r.scenes.filter((s) => s.far);
    const lines = [
      `${r.scenes.length} scenes in ${r.clusters.length} clusters (${r.out})`,
      ...r.clusters.map((c) => `  cluster ${c.id}: ${c.size} scenes, e.g. ${c.examples.map((e) => shortPath(e, from)).join(', ')}  (${c.sheet})`),
      ...(r.farThreshold !== null ? [far.length ? `far from the training set (nearest training scene beyond ${r.farThreshold.toFixed(2)}):` : `no scene is far from the training set (threshold ${r.farThreshold.toFixed(2)})`,
        ...far.map((s) => `  ${shortPath(s.path, from)}: ${s.nearestTraining!.toFixed(2)}`)] : []),
    ];
    return { result: r, text: lines.join('\n') };
  },
};
