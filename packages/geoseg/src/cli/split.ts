// geoseg split: choose the validation tiles of a prepared dataset and the training tiles'
// sampling weights, and store both in its dataset.json (every other field is kept as it was;
// the file is replaced durably: a temporary file in the same folder, fsync'd, then a rename).
import { loadForSplit, writeDatasetJson } from '../data/dataset-file.js';
import { classBalanced, rareThreshold, SAMPLING_STRATEGIES, type SamplingRecord } from '../data/sampling.js';
import { classTotals, scenesSplit, SPLIT_STRATEGIES, splitTiles, type SplitStrategy, type SplitTile } from '../data/split.js';
import { classIdsOption, table, UsageError, type Command } from './command.js';

function fraction(name: string, v: unknown, lo: number, hi: number, loOpen = true): number {
  const n = Number(v);
  if (String(v).trim() === '' || !Number.isFinite(n) || (loOpen ? n <= lo : n < lo) || n >= hi) {
    throw new UsageError(`--${name} must be a number in ${loOpen ? '(' : '['}${lo}, ${hi}), got '${v}'`);
  }
  return n;
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

export const splitCommand: Command = {
  name: 'split',
  summary: 'choose validation tiles and training sampling weights (stored in dataset.json)',
  usage: [
    'geoseg split <dataset> [--strategy scene|random|max-entropy] [--val 0.15] [--seed 0]',
    '                    [--sampling none|class-balanced|rare-threshold] [--power 0.5]',
    '                    [--rare ID|NAME,...] [--threshold 0.1] [--boost 4] [--json]',
    '       geoseg split <dataset> --val-scenes <glob> ...   (e.g. \'tile_8/*\': those scenes are val)',
    '',
    'strategies: scene (default; whole scenes to val, overlapping tiles never leak),',
    '            random (tiles shuffled with the seed), max-entropy (greedy: val class entropy',
    '            largest, tile level, seed not used)',
    'sampling:   none (default), class-balanced (--power), rare-threshold (--rare, default classes',
    '            under 5% of train pixels; --threshold rare-pixel share; --boost weight)',
  ].join('\n'),
  options: {
    strategy: { type: 'string', default: 'scene' },
    val: { type: 'string', default: '0.15' },
    seed: { type: 'string', default: '0' },
    sampling: { type: 'string', default: 'none' },
    power: { type: 'string' },
    rare: { type: 'string' },
    threshold: { type: 'string' },
    boost: { type: 'string' },
    'val-scenes': { type: 'string' },
  },
  async run(values, positionals) {
    if (positionals.length !== 1) throw new UsageError('give one dataset folder (see geoseg split --help)');
    const strategy = String(values.strategy) as SplitStrategy;
    if (!SPLIT_STRATEGIES.includes(strategy)) throw new UsageError(`--strategy must be one of ${SPLIT_STRATEGIES.join(', ')}, got '${strategy}'`);
    const sampling = String(values.sampling);
    if (sampling !== 'none' && !(SAMPLING_STRATEGIES as readonly string[]).includes(sampling)) {
      throw new UsageError(`--sampling must be one of none, ${SAMPLING_STRATEGIES.join(', ')}, got '${sampling}'`);
    }
    const valFraction = fraction('val', values.val, 0, 1);
    const seed = Number(values.seed);
    if (String(values.seed).trim() === '' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new UsageError(`--seed must be an integer in [0, 4294967295], got '${values.seed}'`);
    }
    for (const [opt, owner] of [['power', 'class-balanced'], ['rare', 'rare-threshold'], ['threshold', 'rare-threshold'], ['boost', 'rare-threshold']]) {
      if (values[opt] !== undefined && sampling !== owner) throw new UsageError(`--${opt} applies to --sampling ${owner}`);
    }
    const power = values.power === undefined ? 0.5 : Number(values.power);
    if (String(values.power ?? 0.5).trim() === '' || !(Number.isFinite(power) && power >= 0)) throw new UsageError(`--power must be a number ≥ 0, got '${values.power}'`);
    const threshold = values.threshold === undefined ? 0.1 : fraction('threshold', values.threshold, 0, 1, false);
    const boost = values.boost === undefined ? 4 : Number(values.boost);
    if (String(values.boost ?? 4).trim() === '' || !(Number.isFinite(boost) && boost > 0)) throw new UsageError(`--boost must be a number > 0, got '${values.boost}'`);

    const ds = loadForSplit(positionals[0]);
    const rare = values.rare === undefined ? undefined : classIdsOption('rare', String(values.rare), ds.classes);
    const sceneIds = Array.isArray(ds.json.scenes) ? (ds.json.scenes as { id?: unknown }[]).map((sc, i) => (typeof sc?.id === 'string' ? sc.id : String(i))) : [];
    const split = values['val-scenes'] !== undefined
      ? scenesSplit(ds.tiles, sceneIds, String(values['val-scenes']))
      : splitTiles(ds.tiles, { strategy, valFraction, seed, tileSize: ds.tileSize });
    const weights: SamplingRecord | null =
      sampling === 'class-balanced' ? classBalanced(ds.tiles, split.val, { power })
      : sampling === 'rare-threshold' ? rareThreshold(ds.tiles, split.val, { rareClasses: rare, threshold, boost })
      : null;
    ds.json.split = split;
    ds.json.sampling = weights;
    writeDatasetJson(ds);

    const inVal = new Set(split.val);
    const trainTiles = ds.tiles.filter((t) => !inVal.has(t.id));
    const valTiles = ds.tiles.filter((t) => inVal.has(t.id));
    const share = (tot: number[]) => {
      const s = tot.reduce((a, b) => a + b, 0);
      return tot.map((n) => (s > 0 ? n / s : 0));
    };
    const trainShare = share(classTotals(trainTiles, ds.classes.length));
    const valShare = share(classTotals(valTiles, ds.classes.length));
    const sceneCount = (ts: SplitTile[]) => new Set(ts.map((t) => t.scene)).size;
    const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
    const trainWeights = weights ? trainTiles.map((t) => weights.weights[t.id]) : [];
    const result = {
      dataset: ds.file,
      tiles: ds.tiles.length,
      train: trainTiles.length,
      val: valTiles.length,
      trainScenes: sceneCount(trainTiles),
      valScenes: sceneCount(valTiles),
      split,
      sampling: weights,
      classes: ds.classes.map((c) => ({ id: c.id, name: c.name, trainShare: trainShare[c.id], valShare: valShare[c.id] })),
    };
    const lines = [
      `split ${split.strategy === 'scenes' ? `by scenes '${split.valScenes}'` : strategy}${split.strategy !== 'random' && split.strategy !== 'scene' ? '' : ` (seed ${seed})`}: ${plural(result.train, 'train tile')} from ${plural(result.trainScenes, 'scene')}, ` +
        `${plural(result.val, 'val tile')} from ${plural(result.valScenes, 'scene')} (${pct(result.val / result.tiles)} of tiles${split.strategy === 'scenes' ? '' : `; asked ${valFraction}`})`,
      `class entropy (nats): train ${split.trainEntropy.toFixed(4)}, val ${split.valEntropy.toFixed(4)}`,
      table(['id', 'class', 'train share', 'val share'], result.classes.map((c) => [c.id, c.name, pct(c.trainShare), pct(c.valShare)])),
    ];
    if (!weights) lines.push('sampling: none (uniform)');
    else if (weights.strategy === 'class-balanced') {
      lines.push(`sampling: class-balanced (power ${weights.power}): train tile weights ${Math.min(...trainWeights).toFixed(3)}..${Math.max(...trainWeights).toFixed(3)}, mean 1`);
    } else {
      const names = weights.rareClasses.map((c) => ds.classes[c].name).join(', ') || 'none';
      lines.push(`sampling: rare-threshold (rare: ${names}; rare share > ${weights.threshold} → weight ${weights.boost}): ${weights.boosted} of ${result.train} train tiles boosted`);
      if (!weights.rareClasses.length) lines.push('note: no class is under 5% of the train pixels, so every train tile weighs 1; name rare classes with --rare');
    }
    if (split.leakRisk) {
      lines.push(`warning: ${split.leakPairs} val/train tile pairs of one scene share pixels (a tile-level split of overlapping tiles); --strategy scene avoids this`);
    }
    lines.push(`wrote ${ds.file}`);
    return { result, text: lines.join('\n') };
  },
};
