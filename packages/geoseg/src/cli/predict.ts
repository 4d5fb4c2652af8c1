// geoseg predict: a checkpoint + a scene of any size → a class COG (and optional confidence,
// probabilities, polygons), streamed window row by window row.
import { BLEND_MODES, type BlendMode } from '../infer/blend.js';
import { PRECISIONS, type Precision } from '../infer/window-predict.js';
import * as torch from '@geoseg/torch';
import { predict } from '../infer/predict.js';
import { predictMany, SCENE_EXTRAS, type SceneExtra } from '../infer/predict-many.js';
import { LAUNCH_OPTIONS, launchedGroup, launchedResult, launchOptions, workerThreads } from './launch.js';
import { useThreads } from '../threads.js';
import { useStreamingSettings } from '../streaming-process.js';
import { crfChoice, modelSource, positiveInt, UsageError, weightsChoice, type Command } from './command.js';
import { catchInterrupt } from './interrupt.js';
import { warnBf16 } from './bf16-warning.js';
import { workerDeviceFor } from '../worker-device.js';

export const predictCommand: Command = {
  name: 'predict',
  summary: 'predict a scene of any size to a class COG (streamed; TTA, blending, post-processing, polygons)',
  usage: [
    'geoseg predict --checkpoint <run|checkpoint dir> [--weights raw|ema] --input scene.tif --output classes.tif',
    '               [--window 512] [--overlap 0.25] [--batch 4] [--blend hann|linear|uniform]',
    '               [--tta none|flip|d4|lr,tb,transpose,...] [--confidence conf.tif] [--probabilities probs.tif]',
    '               [--sieve N] [--fill-holes N] [--open R] [--close R] [--post-classes 1,3]',
    '               [--vector out.geojson|out.gpkg] [--simplify T] [--map]',
    '               [--crf default|sxy=80,srgb=13,compat=10,gaussian-sxy=3,gaussian-compat=3,iterations=5]',
    '               [--match-histograms <dataset|scene.tif>] [--precision fp32|bf16] [--overwrite] [--resume] [--device cpu|cuda] [--threads N] [--json]',
    '       geoseg predict --model model.ts.pt --input scene.tif --output classes.tif [same options]',
    '       geoseg predict --checkpoint <run> --input <folder|glob|file> --output-dir out/ [--vectors gpkg|geojson]',
    '               [--with confidence,probabilities] [--map]',
    '               [--nproc N [--nnodes M --node-rank R --master-addr HOST] [--master-port P]] [--part-rows 16] [same window options]',
    '  --output-dir: one classes COG per scene (out/<path relative to the input>.tif; --with adds',
    '  <stem>.confidence.tif and <stem>.probabilities.tif beside it); with --nproc the',
    '  scenes are shared among N worker processes (a queue in the rendezvous store); --resume skips the',
    '  finished scenes and continues the interrupted ones. With several workers a scene of 2 × --part-rows window',
    '  rows or more is shared among them in parts of about that many rows (the same pixels as predicted whole;',
    '  across machines the output folder must be one they all see).',
    '  --weights ema uses the moving average of the weights (runs with train.ema).',
    '  --model: a TorchScript model exported from Python (torch.jit.script/trace) taking normalised',
    '  images, returning logits (or a dict with \'out\'); its card model.ts.pt.json gives classes and normalization.',
    '  --crf: dense CRF of each window\'s probabilities over its image (bilateral kernel on the permutohedral',
    '  lattice, pydensecrf\'s parameters; srgb in the image\'s units), before blending; about 2 s per 512² window.',
    '  --match-histograms: the scene\'s bands histogram-matched to a prepared dataset\'s (or a scene\'s) first (integer bands of up to 16 bits).',
    '  --map writes map.json beside the output (image = the input, prediction, confidence) for geoseg serve;',
    '  with --output-dir, <stem>.map.json beside each scene\'s classes.',
    '  Memory grows with the scene width, not its height. An interrupted run (Ctrl-C, crash, kill) keeps',
    '  its finished rows on disk; --resume continues it. An existing output is replaced only with --overwrite.',
    '  NaN pixels are nodata. Overlaps above 0.9 and windows that cannot fit in memory are refused.',
  ].join('\n'),
  options: {
    threads: { type: 'string' },
    checkpoint: { type: 'string' },
    model: { type: 'string' },
    weights: { type: 'string', default: 'raw' },
    input: { type: 'string' },
    output: { type: 'string' },
    window: { type: 'string', default: '512' },
    overlap: { type: 'string', default: '0.25' },
    batch: { type: 'string', default: '4' },
    blend: { type: 'string', default: 'hann' },
    tta: { type: 'string', default: 'none' },
    crf: { type: 'string' },
    'match-histograms': { type: 'string' },
    confidence: { type: 'string' },
    probabilities: { type: 'string' },
    sieve: { type: 'string' },
    'fill-holes': { type: 'string' },
    open: { type: 'string' },
    close: { type: 'string' },
    'post-classes': { type: 'string' },
    vector: { type: 'string' },
    simplify: { type: 'string' },
    map: { type: 'boolean' },
    overwrite: { type: 'boolean' },
    resume: { type: 'boolean' },
    device: { type: 'string', default: 'cpu' },
    precision: { type: 'string', default: 'fp32' },
    'output-dir': { type: 'string' },
    with: { type: 'string' },
    vectors: { type: 'string' },
    'part-rows': { type: 'string' },
    ...LAUNCH_OPTIONS,
  },
  async run(values) {
    const many = values['output-dir'] !== undefined;
    const launch = launchOptions(values);
    if (launch && !many) throw new UsageError('--nproc shares scenes among workers: give --output-dir (and several scenes in --input)');
    if (launch) return launchedResult(launch);
    // under a launcher: this worker's group, and its share of the cores
    if (!many && torch.distributed.placementFromEnvironment().worldSize > 1) {
      throw new UsageError('this process is one of several workers (RANK/WORLD_SIZE or an srun step): give --output-dir so they share the scenes, or run one scene alone');
    }
    const group = many ? launchedGroup({ timeout: 10 * 60 * 1000 }) : undefined;
    useThreads(positiveInt('threads', values.threads) ?? (group ? workerThreads() : null));
    useStreamingSettings();
    for (const name of [values.model !== undefined ? 'model' : 'checkpoint', 'input', ...(many ? [] : ['output'])]) if (!values[name]) throw new UsageError(`--${name} is required (see geoseg predict --help)`);
    const source = modelSource(values);
    if (many) {
      for (const name of ['output', 'confidence', 'probabilities', 'vector']) {
        if (values[name] !== undefined) throw new UsageError(`--${name} is for one scene; with --output-dir use --vectors gpkg|geojson and --with confidence,probabilities`);
      }
      if (values.vectors !== undefined && !['gpkg', 'geojson'].includes(String(values.vectors))) throw new UsageError(`--vectors: gpkg or geojson, got '${values.vectors}'`);
    } else if (values.vectors !== undefined || values.with !== undefined) {
      throw new UsageError(values.vectors !== undefined ? '--vectors is for --output-dir (one scene: --vector out.gpkg)' : '--with is for --output-dir (one scene: --confidence c.tif, --probabilities p.tif)');
    } else if (values['part-rows'] !== undefined) {
      throw new UsageError('--part-rows is for --output-dir with several workers');
    }
    const extras = values.with === undefined ? [] : String(values.with).split(',').map((v) => v.trim()).map((v) => {
      if (!(SCENE_EXTRAS as readonly string[]).includes(v)) throw new UsageError(`--with: takes ${SCENE_EXTRAS.join(', ')} (comma-separated), got '${v}'`);
      return v as SceneExtra;
    });
    const window = positiveInt('window', values.window)!;
    if (window < 32 || window % 32 !== 0) throw new UsageError(`--window: must be a multiple of 32 (e.g. 256, 512, 1024), got '${values.window}'`);
    const overlap = String(values.overlap).trim() === '' ? NaN : Number(values.overlap);
    if (!(overlap >= 0 && overlap < 1)) throw new UsageError(`--overlap: must be a fraction in [0, 1) (e.g. 0.25), got '${values.overlap}'`);
    const blend = String(values.blend) as BlendMode;
    if (!BLEND_MODES.includes(blend)) throw new UsageError(`--blend: must be one of ${BLEND_MODES.join(', ')}, got '${blend}'`);
    const ttaText = String(values.tta);
    const precision = String(values.precision) as Precision;
    if (!PRECISIONS.includes(precision)) throw new UsageError(`--precision: fp32 or bf16, got '${values.precision}'`);
    if (precision === 'bf16') warnBf16(String(values.device), '--precision bf16');
    const postClasses = values['post-classes'] === undefined ? undefined : String(values['post-classes']).split(',').map((v) => {
      const n = Number(v);
      if (v.trim() === '' || !Number.isInteger(n) || n < 0) throw new UsageError(`--post-classes: takes class ids (e.g. 1,3), got '${v}'`);
      return n;
    });
    const crf = crfChoice(values.crf);
    const simplify = values.simplify === undefined ? 0 : Number(values.simplify);
    if (!(simplify >= 0) || !Number.isFinite(simplify)) throw new UsageError(`--simplify: must be a tolerance ≥ 0 in CRS units, got '${values.simplify}'`);
    const interrupt = catchInterrupt('finishing the current window row (--resume continues)');
    try {
      if (many) {
        const m = await predictMany({
          ...source, weights: weightsChoice(values.weights), input: String(values.input), outputDir: String(values['output-dir']),
          vectors: (values.vectors as 'gpkg' | 'geojson' | undefined) ?? null, extras, window, overlap, batch: positiveInt('batch', values.batch), blend,
          tta: ttaText.includes(',') ? ttaText.split(',') : ttaText, precision, crf, matchHistograms: values['match-histograms'] === undefined ? null : String(values['match-histograms']),
          post: { sieve: positiveInt('sieve', values.sieve), fillHoles: positiveInt('fill-holes', values['fill-holes']), open: positiveInt('open', values.open), close: positiveInt('close', values.close), classes: postClasses },
          simplify, overwrite: Boolean(values.overwrite), resume: Boolean(values.resume), progress: !values.json && !group, device: group ? workerDeviceFor(String(values.device), group, false, '--device') /* workers may share a GPU */ : String(values.device),
          maps: Boolean(values.map), shouldStop: interrupt.stopRequested, group, partRows: positiveInt('part-rows', values['part-rows']),
        });
        if (group && group.rank > 0) return { result: m, text: '', exitCode: m.stopped ? 130 : 0, silent: true };
        const workers = group ? ` by ${group.worldSize} workers` : '';
        const lines = [
          `${m.predicted.length} of ${m.scenes} scenes predicted${workers} in ${m.seconds.toFixed(1)} s${m.skipped.length ? `; ${m.skipped.length} finished before (--resume)` : ''}`,
          ...m.predicted.map((p) => `  ${p.output}  (${p.megapixelsPerSecond.toFixed(2)} Mpx/s${p.parts > 1 ? ` in ${p.parts} parts, finished by worker ${p.worker}` : group ? `, worker ${p.worker}` : ''})`),
          ...(m.stopped ? ['stopped; run again with --resume to finish'] : []),
        ];
        return { result: m, text: lines.join('\n'), exitCode: m.stopped ? 130 : 0 };
      }
      const s = await predict({
        ...source, weights: weightsChoice(values.weights), input: String(values.input), output: String(values.output),
        window, overlap, batch: positiveInt('batch', values.batch), blend, tta: ttaText.includes(',') ? ttaText.split(',') : ttaText, precision, crf, matchHistograms: values['match-histograms'] === undefined ? null : String(values['match-histograms']),
        confidence: values.confidence as string | undefined, probabilities: values.probabilities as string | undefined, map: Boolean(values.map),
        post: { sieve: positiveInt('sieve', values.sieve), fillHoles: positiveInt('fill-holes', values['fill-holes']), open: positiveInt('open', values.open), close: positiveInt('close', values.close), classes: postClasses },
        vector: values.vector as string | undefined, simplify, overwrite: Boolean(values.overwrite), resume: Boolean(values.resume),
        progress: !values.json, device: String(values.device), shouldStop: interrupt.stopRequested,
      });
      if (s.stopped) return { result: s, text: `stopped; finished rows are kept (run again with --resume)`, exitCode: 130 };
      const total = s.classes.reduce((a, c) => a + c.pixels, 0) || 1;
      const lines = [
        `${s.output}: ${s.width} × ${s.height} px, ${s.windows} windows in ${s.seconds.toFixed(1)} s (${s.megapixelsPerSecond.toFixed(2)} Mpx/s), peak RSS ${s.peakRssMB.toFixed(0)} MB`,
        ...s.classes.map((c) => `  ${c.name.padEnd(16)} ${(100 * c.pixels / total).toFixed(2).padStart(6)}%${c.area !== null ? `  ${c.area.toFixed(1)} CRS units²` : ''}`),
      ];
      for (const [what, p] of [['confidence', s.confidence], ['probabilities', s.probabilities], ['polygons', s.vector], ['map', s.map]] as const) if (p) lines.push(`${what}: ${p}`);
      return { result: s, text: lines.join('\n') };
    } finally {
      interrupt.release();
    }
  },
};

