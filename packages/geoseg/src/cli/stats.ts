// geoseg stats: per-class pixel counts, frequencies, the long tail and suggested class weights.
import { readDataset } from '../data/dataset.js';
import { classStats } from '../data/stats.js';
import { table, UsageError, type Command } from './command.js';

export const statsCommand: Command = {
  name: 'stats',
  summary: 'class statistics of a prepared dataset (long tail, suggested weights)',
  usage: 'geoseg stats <dataset> [--json]',
  options: {},
  async run(_values, positionals) {
    if (positionals.length !== 1) throw new UsageError('give one dataset folder (see geoseg stats --help)');
    const s = classStats(readDataset(positionals[0]));
    const rows = [...s.classes].sort((a, b) => b.pixels - a.pixels).map((c) => [
      c.id, c.name, c.pixels, `${(100 * c.frequency).toFixed(2)}%`, `${(100 * c.cumulative).toFixed(1)}%`, c.tiles,
      c.weights.inverseFrequency.toFixed(3), c.weights.medianFrequency.toFixed(3), c.weights.softmaxGap.toFixed(4),
    ]);
    return {
      result: s,
      text: [table(['id', 'class', 'pixels', 'share', 'cumulative', 'tiles', 'w inverse', 'w median', 'w softmax'], rows),
        `labelled pixels: ${s.labelledPixels}, ignored pixels: ${s.ignoredPixels}`].join('\n'),
    };
  },
};
