// geoseg augment: offline class-balanced augmentation of a prepared dataset (data/offline-augment.ts).
import { augmentationSchema, type AugmentationInput } from '../data/augment.js';
import { readDataset } from '../data/dataset.js';
import { augmentDataset, removeAugmentation } from '../data/offline-augment.js';
import { readDocument } from '../document.js';
import { GeosegError } from '../errors.js';
import { classIdsOption, positiveInt, table, UsageError, type Command } from './command.js';

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** An augmentation block from a file: the file itself, or its `augmentation:` (a run config works). */
function augmentationFile(path: string): AugmentationInput {
  const doc = readDocument(path) as { augmentation?: unknown } | null;
  const block = doc && typeof doc === 'object' && 'augmentation' in doc ? doc.augmentation : doc;
  const parsed = augmentationSchema.safeParse(block);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new GeosegError(`${path}: ${i.path.join('.') || '(top level)'}: ${i.message}`);
  }
  return parsed.data;
}

export const augmentCommand: Command = {
  name: 'augment',
  summary: 'add augmented copies of rare-class tiles until each class reaches a pixel share',
  usage: [
    'geoseg augment <dataset> [--target SHARE] [--classes ID|NAME,...] [--max-tiles N] [--max-copies 8]',
    '                      [--seed 0] [--augmentation aug.yaml] [--overwrite] [--json]',
    '       geoseg augment <dataset> --remove',
    '',
    '--target      pixel share each class should reach over the training tiles (default 1/(2·classes))',
    '--classes     the classes to raise (default all)',
    '--max-tiles   copies in all (default: the number of training tiles)',
    '--max-copies  copies of one tile (default 8)',
    '--augmentation a file with an augmentation block as in run configs (default: flips, rot90, mild',
    '              brightness/contrast/saturation/hue)',
    'Copies go to training only; run geoseg split first. --overwrite replaces an earlier augmentation.',
  ].join('\n'),
  options: {
    target: { type: 'string' },
    classes: { type: 'string' },
    'max-tiles': { type: 'string' },
    'max-copies': { type: 'string' },
    seed: { type: 'string', default: '0' },
    augmentation: { type: 'string' },
    overwrite: { type: 'boolean' },
    remove: { type: 'boolean' },
  },
  async run(values, positionals) {
    if (positionals.length !== 1) throw new UsageError('give one dataset folder (see geoseg augment --help)');
    const folder = positionals[0];
    if (values.remove) {
      const other = ['target', 'classes', 'max-tiles', 'max-copies', 'augmentation', 'overwrite'].find((k) => values[k] !== undefined);
      if (other) throw new UsageError(`--remove takes no --${other}`);
      const { removed } = removeAugmentation(folder);
      return { result: { dataset: folder, removed }, text: removed ? `removed ${removed} augmented tiles from ${folder}` : `${folder}: no augmented tiles` };
    }
    const target = values.target === undefined ? undefined : Number(values.target);
    if (target !== undefined && (String(values.target).trim() === '' || !(target > 0 && target < 1))) throw new UsageError(`--target must be a share in (0, 1), got '${values.target}'`);
    const seed = Number(values.seed);
    if (String(values.seed).trim() === '' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UsageError(`--seed must be an integer in [0, 4294967295], got '${values.seed}'`);
    const ds = readDataset(folder);
    const record = augmentDataset(folder, {
      target, seed, overwrite: Boolean(values.overwrite),
      classes: values.classes === undefined ? undefined : classIdsOption('classes', String(values.classes), ds.classes),
      maxTiles: positiveInt('max-tiles', values['max-tiles']),
      maxCopies: positiveInt('max-copies', values['max-copies']),
      augmentation: values.augmentation === undefined ? undefined : augmentationFile(String(values.augmentation)),
    });
    const why = { reached: 'every class reached the target', 'max-tiles': `the budget of ${record.maxTiles} copies is spent`, stuck: 'no tile can raise the classes left' }[record.stopped];
    const lines = [
      `added ${record.added} augmented tiles to ${folder} (target share ${pct(record.target)}; ${why})`,
      `transforms: ${record.transforms}`,
      table(['id', 'class', 'share before', 'after'], ds.classes.map((c) => [c.id, c.name, pct(record.before[c.id]), pct(record.after[c.id]) + (record.stuck.includes(c.id) ? ' (stuck)' : '')])),
    ];
    return { result: { dataset: folder, ...record }, text: lines.join('\n') };
  },
};
