// geoseg refine-labels: a coarse (or jagged) label raster → class ids on the image's grid with
// the edges moved onto the image's (dense CRF over the full-resolution image).
import { resolve } from 'node:path';
import * as torch from '@geoseg/torch';
import { readClassTable } from '../data/classes.js';
import { decodeMask } from '../data/masks.js';
import { parseCrf } from '../infer/crf/crf-options.js';
import { nearestTo, refineLabels, REFINE_DEFAULTS } from '../infer/crf/refine-labels.js';
import { Raster, writeCog } from '../raster/index.js';
import { UsageError, type Command } from './command.js';

export const refineLabelsCommand: Command = {
  name: 'refine-labels',
  summary: 'move the edges of coarse or jagged labels onto the image (dense CRF guided upsampling)',
  usage: [
    'geoseg refine-labels --labels coarse.png --image scene.tif --classes classes.yaml --output refined.tif',
    '                     [--confidence 0.55] [--crf sxy=6,srgb=8,compat=8,gaussian-sxy=1,gaussian-compat=2,iterations=8] [--overwrite] [--json]',
    '  The labels (RGB, palette or index, decoded by the classes file) are brought to the image\'s size by',
    '  nearest neighbour when they are coarser, then refined window by window; ignored pixels stay ignored.',
    '  The output holds class ids with the classes\' palette and the image\'s georeference.',
  ].join('\n'),
  options: {
    labels: { type: 'string' },
    image: { type: 'string' },
    classes: { type: 'string' },
    output: { type: 'string' },
    confidence: { type: 'string' },
    crf: { type: 'string' },
    overwrite: { type: 'boolean' },
  },
  async run(values) {
    for (const name of ['labels', 'image', 'classes', 'output']) if (!values[name]) throw new UsageError(`--${name} is required (see geoseg refine-labels --help)`);
    const confidence = values.confidence === undefined ? REFINE_DEFAULTS.confidence : Number(values.confidence);
    if (!(confidence > 0 && confidence < 1)) throw new UsageError(`--confidence: a number in (0, 1), got '${values.confidence}'`);
    let crf = REFINE_DEFAULTS.crf;
    try {
      if (values.crf !== undefined) crf = parseCrf(String(values.crf), '--crf', REFINE_DEFAULTS.crf);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const table = readClassTable(String(values.classes));
    const started = performance.now();
    const image = await Raster.open(String(values.image));
    try {
      const labels = await Raster.open(String(values.labels));
      const mask = await labels.read({ x: 0, y: 0, width: labels.info.width, height: labels.info.height }).finally(() => labels.close());
      const decoded = decodeMask(mask, table, { colorTable: labels.info.colorTable, where: String(values.labels) });
      mask.dispose();
      const { width: W, height: H } = image.info;
      const ids = nearestTo(decoded.index, H, W);
      const refined = await refineLabels(ids, (x, y, w, h) => image.read({ x, y, width: w, height: h }), table.classes.length, table.ignoreIndex, { ...REFINE_DEFAULTS, confidence, crf });
      const changed = torch.tidy(() => refined.ne(ids).sum().item());
      const palette = Array.from({ length: 256 }, (_, i) => {
        const c = table.classes.find((k) => k.id === i);
        return (c ? [...c.color, 255] : [0, 0, 0, 0]) as [number, number, number, number];
      });
      await writeCog(String(values.output), refined.unsqueeze(0), { geoTransform: image.info.geoTransform, crs: image.info.crs, nodata: table.ignoreIndex, colorTable: palette, overwrite: Boolean(values.overwrite) });
      torch.dispose([decoded.index, ids, refined]);
      const seconds = (performance.now() - started) / 1000;
      const result = { output: resolve(String(values.output)), width: W, height: H, upsampledFrom: [labels.info.width, labels.info.height], changedPixels: changed, seconds };
      return { result, text: `${result.output}: ${W} × ${H} px (labels ${labels.info.width} × ${labels.info.height}), ${changed} pixels moved to the image's edges, ${seconds.toFixed(1)} s` };
    } finally {
      image.close();
    }
  },
};
