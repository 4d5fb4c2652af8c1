// A whole scene put back together from its prepared tiles (they cover every pixel: edge tiles are
// snapped to the border), for evaluation on scenes rather than tiles. Works the same for scenes
// that prepare rasterized or resampled.
import { join } from 'node:path';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import type { DatasetJson } from './dataset.js';

export interface SceneTensors {
  /** [bands, H, W] in the dataset's dtype. */
  image: Tensor;
  /** [H, W] uint8 class ids (ignore where unlabelled). */
  mask: Tensor;
}

export function assembleScene(folder: string, ds: DatasetJson, scene: number): SceneTensors {
  const { width, height } = ds.scenes[scene];
  const T = ds.tileSize;
  return torch.tidy(() => {
    const tiles = ds.tiles.filter((t) => t.scene === scene);
    let image: Tensor | null = null;
    const mask = torch.full([height, width], ds.ignoreIndex, { dtype: 'uint8' });
    for (const t of tiles) {
      torch.tidy(() => {
        const saved = torch.loadSafetensors(join(folder, t.file));
        image ??= torch.keep(torch.zeros([saved.image.shape[0], height, width], { dtype: saved.image.dtype }));
        // tiles of small scenes are padded past the scene: copy only the part inside it
        const w = Math.min(T, width - t.x), h = Math.min(T, height - t.y);
        image.narrow(1, t.y, h).narrow(2, t.x, w).copy_(saved.image.narrow(1, 0, h).narrow(2, 0, w));
        mask.narrow(0, t.y, h).narrow(1, t.x, w).copy_(saved.mask.narrow(0, 0, h).narrow(1, 0, w));
      });
    }
    if (!image) throw new Error(`scene ${ds.scenes[scene].id} has no tiles`);
    return { image: image as Tensor, mask };
  });
}
