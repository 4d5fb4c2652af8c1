// geoseg eval --checkpoint DIR --data DATASET [--split val|all] [--tta none|flip|d4]: whole-scene
// sliding-window evaluation: per-class table and summary; --json has everything incl. the matrix.
import { readDataset } from '../data/dataset.js';
import { GeosegError } from '../errors.js';
import { foregroundMIoU, formatMetricsTable } from '../metrics/index.js';
import { PRECISIONS, type Precision } from '../infer/window-predict.js';
import { EVAL_PRESETS, backgroundClass } from '../evaluation/presets.js';
import { Progress } from '../progress.js';
import { loadPredictor } from '../infer/predict.js';
import { beginEvalMaps, evalMapSink, evalUnits, evaluate, finishEvalMaps, unitFolder } from '../evaluation/index.js';
import { join, resolve } from 'node:path';
import { rmSync } from 'node:fs';
import { useThreads } from '../threads.js';
import { peakRss, useStreamingSettings } from '../streaming-process.js';
import { crfChoice, modelSource, UsageError, weightsChoice, type Command } from './command.js';
import { warnBf16 } from './bf16-warning.js';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate a checkpoint on whole scenes of a prepared dataset (IoU, mIoU, confusion matrix)',
  usage: [
    'geoseg eval --checkpoint <run|checkpoint dir> [--weights raw|ema] --data <dataset> [--split val|all] [--tta none|flip|d4|lr,tb,...]',
    '       geoseg eval --model model.ts.pt --data <dataset> ...   (a TorchScript model with its card, as geoseg predict --model)',
    '            [--window 512] [--overlap 0.25 | --stride N] [--blend hann|linear|uniform] [--batch 4] [--preset factseg]',
    '            [--background NAME] [--foreground-only] [--maps DIR [--overwrite]] [--precision fp32|bf16] [--threads N] [--json]',
    '            [--crf default|sxy=80,srgb=13,compat=10,gaussian-sxy=3,gaussian-compat=3,iterations=5]',
    '  --crf: score the predictions after a dense CRF of each window (as geoseg predict --crf).',
    '  --stride N: windows at a fixed stride, the last at the border (instead of spread evenly by --overlap).',
    `  --preset: a published protocol's windows, blending and scores (${Object.entries(EVAL_PRESETS).map(([k, p]) => `${k}: ${p.description}`).join('; ')}).`,
    '  The report has the mIoU without the background class (named background, or --background NAME);',
    '  --foreground-only leaves the background row out of the table.',
    '  --maps DIR writes each scene image, prediction, confidence and truth as COGs with a map.json (open them with geoseg serve);',
    '  an existing maps folder is replaced only with --overwrite, any other folder never is',
  ].join('\n'),
  options: {
    threads: { type: 'string' },
    checkpoint: { type: 'string' },
    model: { type: 'string' },
    weights: { type: 'string', default: 'raw' },
    data: { type: 'string' },
    split: { type: 'string', default: 'val' },
    // window, overlap, stride, blend and tta have no parser defaults: a --preset sets them and refuses them
    tta: { type: 'string' },
    window: { type: 'string' },
    overlap: { type: 'string' },
    stride: { type: 'string' },
    blend: { type: 'string' },
    batch: { type: 'string', default: '4' },
    precision: { type: 'string', default: 'fp32' },
    crf: { type: 'string' },
    preset: { type: 'string' },
    background: { type: 'string' },
    'foreground-only': { type: 'boolean' },
    maps: { type: 'string' },
    overwrite: { type: 'boolean' },
  },
  async run(values) {
    useThreads(values.threads === undefined ? null : Number(values.threads));
    useStreamingSettings();
    for (const name of [values.model !== undefined ? 'model' : 'checkpoint', 'data']) if (!values[name]) throw new UsageError(`--${name} is required (see geoseg eval --help)`);
    const source = modelSource(values);
    const split = String(values.split);
    if (split !== 'val' && split !== 'all') throw new UsageError(`--split must be val or all, got '${split}'`);
    const preset = values.preset === undefined ? null : EVAL_PRESETS[String(values.preset)];
    if (values.preset !== undefined && !preset) throw new UsageError(`--preset must be one of ${Object.keys(EVAL_PRESETS).join(', ')}, got '${values.preset}'`);
    if (preset) {
      const set = ['window', 'overlap', 'stride', 'blend', 'tta'].find((k) => values[k] !== undefined);
      if (set) throw new UsageError(`--preset ${values.preset} sets the windows, blending and TTA itself; leave out --${set}`);
    }
    const blend = preset?.blend ?? String(values.blend ?? 'hann');
    if (!['hann', 'linear', 'uniform'].includes(blend)) throw new UsageError(`--blend must be hann, linear or uniform, got '${blend}'`);
    const window = preset?.window ?? Number(values.window ?? 512), overlap = Number(values.overlap ?? 0.25), batch = Number(values.batch);
    const stride = preset ? preset.stride : values.stride === undefined ? null : Number(values.stride);
    if (!Number.isInteger(window) || window < 32 || window % 32) throw new UsageError(`--window must be a multiple of 32, got '${values.window}'`);
    if (!(overlap >= 0 && overlap < 1)) throw new UsageError(`--overlap must be in [0, 1), got '${values.overlap}'`);
    if (stride !== null && !(Number.isInteger(stride) && stride >= 1 && stride <= window)) throw new UsageError(`--stride must be an integer from 1 to the window (${window}), got '${values.stride}'`);
    if (stride !== null && values.overlap !== undefined) throw new UsageError('--stride and --overlap both place the windows: give one');
    if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`--batch must be a positive integer, got '${values.batch}'`);
    const ttaText = preset?.tta ?? String(values.tta ?? 'none');
    const tta = ttaText.includes(',') ? ttaText.split(',') : ttaText;

    const weights = weightsChoice(values.weights);
    // a checkpoint (channels-last: faster CPU inference, the same numbers) or a TorchScript model
    const { model, meta, dir } = loadPredictor(source, weights);
    const ds = readDataset(String(values.data));
    const names = ds.classes.map((c) => c.name);
    const background = backgroundClass(ds.classes, values.background === undefined ? null : String(values.background));
    if (background === null && (values.background !== undefined || values['foreground-only'] || preset?.foreground)) {
      const why = values.background !== undefined ? `--background: no class named '${values.background}'` : 'no class named background (give --background <class>)';
      throw new GeosegError(`${values.data}: ${why}; the classes are ${names.join(', ')}`);
    }
    if (ds.bands !== meta.bands) throw new GeosegError(`${values.data}: scenes have ${ds.bands} bands, the model ${dir} takes ${meta.bands}`);
    if (names.join('\n') !== meta.classes.map((c) => c.name).join('\n')) throw new GeosegError(`${values.data}: classes (${names.join(', ')}) differ from the model's (${meta.classes.map((c) => c.name).join(', ')})`);
    const valTiles = split === 'all' ? ds.tiles.map((t) => t.id) : ((ds.split as { val?: number[] } | null)?.val ?? []);
    if (valTiles.length === 0) throw new GeosegError(`${values.data}: no validation split (run geoseg split, or pass --split all)`);
    const units = evalUnits(ds, valTiles);
    const progress = new Progress('eval', units.length, 'scenes', !values.json);
    const precision = String(values.precision) as Precision;
    if (!PRECISIONS.includes(precision)) throw new UsageError(`--precision: fp32 or bf16, got '${values.precision}'`);
    if (precision === 'bf16') warnBf16('cpu', '--precision bf16');
    const crf = crfChoice(values.crf);
    const overwrite = Boolean(values.overwrite);
    const mapsRoot = values.maps ? resolve(String(values.maps)) : null;
    const mapsTmp = mapsRoot ? beginEvalMaps(mapsRoot, overwrite) : null;
    const maps: string[] = [];
    let r: Awaited<ReturnType<typeof evaluate>>;
    try {
      r = await evaluate(model, String(values.data), ds, units, meta.normalization, { window, overlap, stride, batch, blend: blend as 'hann', tta, precision, crf }, {
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
    const protocol = { preset: preset ? String(values.preset) : null, window, stride, overlap: stride === null ? overlap : null, blend };
    const foreground = background === null ? {} : { background: names[background], foregroundMIoU: foregroundMIoU(r.metrics, background) };
    const result = { checkpoint: dir, weights, step: meta.step, dataset: String(values.data), split, tta, computePrecision: precision, crf, ...protocol, scenes: r.scenes, seconds: r.seconds, peakRssMB: peakRss(), classes: names, ...r.metrics, ...foreground, matrix: r.matrix, maps };
    if (mapsTmp) finishEvalMaps(mapsRoot!, mapsTmp, overwrite, result);
    return {
      result,
      text: [`${'model' in source ? `model ${dir}` : `checkpoint ${dir} (step ${meta.step})`} on ${r.scenes} ${split} scene(s), tta ${ttaText}, ${r.seconds.toFixed(1)} s`, formatMetricsTable(r.metrics, names, { background, foregroundOnly: Boolean(values['foreground-only']) }),
        ...(mapsRoot ? [`maps: ${maps.length} in ${mapsRoot} (geoseg serve ${mapsRoot})`] : [])].join('\n'),
    };
  },
};
