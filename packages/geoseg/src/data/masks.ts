// Label masks in any of their encodings (RGB colours, palette images, class indices) to class
// index tensors, with libtorch doing the per-pixel work and JS only the per-colour table.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { ClassTableError } from '../errors.js';
import type { Rgba } from '../raster/index.js';
import { hexOf, packRgb, type ClassTable } from './classes.js';

export type MaskEncoding = 'rgb' | 'palette' | 'index';
export type UnknownPolicy = 'ignore' | 'error';

export interface DecodedMask {
  /** [H, W] uint8 class ids, the ignore index where ignored. */
  index: Tensor;
  encoding: MaskEncoding;
  /** Pixels of colours (or ids) not in the table, by '#RRGGBB' (or 'id N'). */
  unknown: Map<string, number>;
}

/** How a mask read as [bands, H, W] uint8 is encoded. */
export function maskEncoding(bands: number, colorTable: Rgba[] | null, where = 'mask'): MaskEncoding {
  if (bands >= 3 && bands <= 4) return 'rgb';
  if (bands === 1) return colorTable ? 'palette' : 'index';
  throw new ClassTableError(`${where}: a mask needs 1 band (indices or palette) or 3-4 bands (RGB colours), it has ${bands}`);
}

/**
 * Class indices of a mask [bands, H, W] (uint8). Colours or ids missing from the table are
 * counted, then become the ignore index (`unknown: 'ignore'`) or an error naming `where`.
 */
export function decodeMask(mask: Tensor, table: ClassTable, opts: { colorTable?: Rgba[] | null; unknown?: UnknownPolicy; where?: string } = {}): DecodedMask {
  const where = opts.where ?? 'mask';
  const encoding = maskEncoding(mask.shape[0], opts.colorTable ?? null, where);
  return torch.tidy(() => {
    // Each pixel's key: its packed RGB colour, or its palette entry / index value.
    const keys = encoding === 'rgb'
      ? mask.narrow(0, 0, 3).to('int32').mul(torch.tensor([65536, 256, 1], { dtype: 'int32', shape: [3, 1, 1] })).sum([0], false, { dtype: 'int32' })
      : mask.select(0, 0).to('int32');
    const [values, inverse, counts] = torch._unique2(keys.reshape([-1]), true, true, true);
    const keyList = values.data() as Int32Array;
    const countList = counts.data() as BigInt64Array;
    const lut = new Uint8Array(keyList.length);
    const unknown = new Map<string, number>();
    keyList.forEach((key, i) => {
      let target: number | undefined;
      let label: string;
      if (encoding === 'index') {
        target = table.idMap.get(key);
        label = `id ${key}`;
      } else {
        const rgb = encoding === 'rgb' ? key : packRgb(opts.colorTable![key] ?? [0, 0, 0]);
        target = table.colorMap.get(rgb);
        label = hexOf(rgb);
      }
      if (target === undefined) {
        unknown.set(label, (unknown.get(label) ?? 0) + Number(countList[i]));
        target = table.ignoreIndex;
      }
      lut[i] = target;
    });
    if (unknown.size && opts.unknown === 'error') {
      const list = [...unknown].map(([k, n]) => `${k} (${n} px)`).join(', ');
      throw new ClassTableError(`${where}: ${encoding === 'index' ? 'ids' : 'colours'} not in the class table: ${list}`);
    }
    const index = torch.tensor(lut).index([inverse]).reshape(keys.shape);
    return { index, encoding, unknown };
  });
}

/** Pixels per class id (0..classCount-1) and ignored pixels, counted by libtorch. */
export function countClasses(index: Tensor, classCount: number, ignoreIndex: number): { pixels: number[]; ignored: number } {
  return torch.tidy(() => {
    const counts = torch.bincount(index.reshape([-1]).to('int64'), null, Math.max(classCount, ignoreIndex + 1));
    const all = Array.from(counts.data() as BigInt64Array, Number);
    return { pixels: all.slice(0, classCount), ignored: all[ignoreIndex] ?? 0 };
  });
}
