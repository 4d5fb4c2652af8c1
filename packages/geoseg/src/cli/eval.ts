// geoseg eval --checkpoint DIR --data DATASET [--split val|all] [--tta none|flip|d4]: whole-scene
// sliding-window evaluation: per-class table and summary; --json has everything incl. the matrix.
import { readDataset } from '../data/dataset.js';
import { GeosegError } from '../errors.js';
import { formatMetricsTable } from '../metrics/index.js';
import { Progress } from '../progress.js';
import { loadCheckpoint } from '../models/checkpoint.js';
import { useChannelsLast } from '../models/index.js';
import { beginEvalMaps, evalMapSink, evalUnits, evaluate, finishEvalMaps, unitFolder } from '../evaluation/index.js';
import { join, resolve } from 'node:path';
import { rmSync } from 'node:fs';
import { useThreads } from '../threads.js';
import { peakRss, useStreamingSettings } from '../streaming-process.js';
import { UsageError, weightsChoice, type Command } from './command.js';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate a checkpoint on whole scenes of a prepared dataset (IoU, mIoU, confusion matrix)',
  usage: 'geoseg eval --checkpoint <run|checkpoint dir> [--weights raw|ema] --data <dataset> [--split val|all] [--tta none|flip|d4|lr,tb,...] [--window 512] [--overlap 0.25] [--blend hann|linear|uniform] [--batch 4] [--maps DIR [--overwrite]] [--threads N] [--json]\n  --maps DIR writes each scene image, prediction, confidence and truth as COGs with a map.json (open them with geoseg serve);\n  an existing maps folder is replaced only with --overwrite, any other folder never is',
  options: {
    threads: { type: 'string' },
    checkpoint: { type: 'string' },
    weights: { type: 'string', default: 'raw' },
    data: { type: 'string' },
    split: { type: 'string', default: 'val' },
    tta: { type: 'string', default: 'none' },
    window: { type: 'string', default: '512' },
    overlap: { type: 'string', default: '0.25' },
    blend: { type: 'string', default: 'hann' },
    batch: { type: 'string', default: '4' },
    maps: { type: 'string' },
    overwrite: { type: 'boolean' },
  },
  async run(values) {
    useThreads(values.threads === undefined ? null : Number(values.threads));
    useStreamingSettings();
    for (const name of ['checkpoint', 'data']) if (!values[name]) throw new UsageError(`--${name} is required (see geoseg eval --help)`);
    const split = String(values.split);
    if (split !== 'val' && split !== 'all') throw new UsageError(`--split must be val or all, got '${split}'`);
    const blend = String(values.blend);
    if (!['hann', 'linear', 'uniform'].includes(blend)) throw new UsageError(`--blend must be hann, linear or uniform, got '${blend}'`);
    const window = Number(values.window), overlap = Number(values.overlap), batch = Number(values.batch);
    if (!Number.isInteger(window) || window < 32 || window % 32) throw new UsageError(`--window must be a multiple of 32, got '${values.window}'`);
    if (!(overlap >= 0 && overlap < 1)) throw new UsageError(`--overlap must be in [0, 1), got '${values.overlap}'`);
    if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`--batch must be a positive integer, got '${values.batch}'`);
    const ttaText = String(values.tta);
    const tta = ttaText.includes(',') ? ttaText.split(',') : ttaText;

    const { model, meta, dir } = loadCheckpoint(String(values.checkpoint), { weights: weightsChoice(values.weights) });
    useChannelsLast(model); // faster CPU inference; the same numbers
    const ds = readDataset(String(values.data));
    const names = ds.classes.map((c) => c.name);
    if (ds.bands !== meta.bands) throw new GeosegError(`${values.data}: scenes have ${ds.bands} bands, the model ${dir} takes ${meta.bands}`);
    if (names.join('\n') !== meta.classes.map((c) => c.name).join('\n')) throw new GeosegError(`${values.data}: classes (${names.join(', ')}) differ from the checkpoint's (${meta.classes.map((c) => c.name).join(', ')})`);
    const valTiles = split === 'all' ? ds.tiles.map((t) => t.id) : ((ds.split as { val?: number[] } | null)?.val ?? []);
    if (valTiles.length === 0) throw new GeosegError(`${values.data}: no validation split (run geoseg split, or pass --split all)`);
    const units = evalUnits(ds, valTiles);
    const progress = new Progress('eval', units.length, 'scenes', !values.json);
    const overwrite = Boolean(values.overwrite);
    const mapsRoot = values.maps ? resolve(String(values.maps)) : null;
    const mapsTmp = mapsRoot ? beginEvalMaps(mapsRoot, overwrite) : null;
    const maps: string[] = [];
    let r: Awaited<ReturnType<typeof evaluate>>;
    try {
      r = await evaluate(model, String(values.data), ds, units, meta.normalization, { window, overlap, batch, blend: blend as 'hann', tta }, {
        sink: mapsTmp ? (unit, tiles) => evalMapSink(mapsTmp, ds, unit, tiles) : undefined,
        onUnit: (_, unit) => {
          if (mapsTmp) maps.push(join(mapsRoot!, unitFolder(ds, unit)));
          progress.tick();
        },
      });
    } catch (e) {
      if (mapsTmp) rmSync(mapsTmp, { recursive: true, force: true });
      throw e;
    }
    model.dispose();
    const result = { checkpoint: dir, step: meta.step, dataset: String(values.data), split, tta, scenes: r.scenes, seconds: r.seconds, peakRssMB: peakRss(), classes: names, ...r.metrics, matrix: r.matrix, maps };
    if (mapsTmp) finishEvalMaps(mapsRoot!, mapsTmp, overwrite, result);
    return {
      result,
      text: [`checkpoint ${dir} (step ${meta.step}) on ${r.scenes} ${split} scene(s), tta ${ttaText}, ${r.seconds.toFixed(1)} s`, formatMetricsTable(r.metrics, names),
        ...(mapsRoot ? [`maps: ${maps.length} in ${mapsRoot} (geoseg serve ${mapsRoot})`] : [])].join('\n'),
    };
  },
};
