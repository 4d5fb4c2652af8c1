// geoseg stats: per-class pixel counts, frequencies, the long tail, per-scene counts and
// suggested class weights; optionally a PNG bar chart of the class shares.
import { readDataset } from '../data/dataset.js';
import { classStats } from '../data/stats.js';
import { writeBarChart } from '../plot/bar-chart.js';
import { table, UsageError, type Command } from './command.js';

const pct = (x: number, digits = 2) => `${(100 * x).toFixed(digits)}%`;

export const statsCommand: Command = {
  name: 'stats',
  summary: 'class statistics of a prepared dataset (long tail, per scene, suggested weights)',
  usage: 'geoseg stats <dataset> [--scenes] [--plot classes.png [--overwrite]] [--json]\n  An existing --plot file is replaced only with --overwrite.',
  options: {
    scenes: { type: 'boolean' },
    plot: { type: 'string' },
    overwrite: { type: 'boolean' },
  },
  async run(values, positionals) {
    if (positionals.length !== 1) throw new UsageError('give one dataset folder (see geoseg stats --help)');
    const ds = readDataset(positionals[0]);
    const s = classStats(ds);
    const sorted = [...s.classes].sort((a, b) => b.pixels - a.pixels);
    if (values.plot) {
      const top = Math.max(...sorted.map((c) => c.frequency), 1e-12);
      await writeBarChart(String(values.plot), `${ds.classes.length} classes, ${s.labelledPixels} labelled px`, sorted.map((c) => ({
        label: c.name, value: c.frequency / top, color: ds.classes[c.id].color, note: pct(c.frequency),
      })), { overwrite: Boolean(values.overwrite) });
    }
    const rows = sorted.map((c) => [
      c.id, c.name, c.pixels, pct(c.frequency), pct(c.cumulative, 1), c.tiles,
      c.weights.inverseFrequency.toFixed(3), c.weights.medianFrequency.toFixed(3), c.weights.softmaxGap.toFixed(4),
    ]);
    const lines = [table(['id', 'class', 'pixels', 'share', 'cumulative', 'tiles', 'w inverse', 'w median', 'w softmax'], rows),
      `labelled pixels: ${s.labelledPixels}, ignored pixels: ${s.ignoredPixels}`];
    // Per scene: shares of each class (all scenes with --scenes, else up to 20).
    const scenes = values.scenes ? s.perScene : s.perScene.slice(0, 20);
    const sceneRows = scenes.map((sc) => {
      const total = sc.pixels.reduce((a, b) => a + b, 0);
      return [sc.id, total, ...sc.pixels.map((n) => (total ? pct(n / total, 1) : '—')), sc.ignored];
    });
    lines.push('', 'per scene (share of labelled pixels):', table(['scene', 'labelled', ...ds.classes.map((c) => c.name), 'ignored'], sceneRows));
    if (scenes.length < s.perScene.length) lines.push(`… ${s.perScene.length - scenes.length} more scenes (--scenes lists all, --json has them)`);
    if (values.plot) lines.push(`chart: ${values.plot}`);
    return { result: { ...s, plot: values.plot ?? null }, text: lines.join('\n') };
  },
};
