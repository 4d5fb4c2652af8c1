// A tiny prepared dataset for training tests: 256×256 scenes whose class is readable from the
// colour (class 0 reddish, class 1 bluish, with noise), so any working pipeline learns it fast.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '@geoseg/torch';
import { prepare, writeCog } from '../../src/index.js';
import { scenesSplit } from '../../src/data/split.js';
import { readDataset } from '../../src/data/dataset.js';
import { writeFileDurable } from '../../src/durable.js';

export async function tinyDataset(dir: string, scenes = ['a', 'b', 'c']): Promise<string> {
  mkdirSync(join(dir, 'images'), { recursive: true });
  mkdirSync(join(dir, 'labels'), { recursive: true });
  for (const [i, name] of scenes.entries()) {
    await torch.tidy(async () => {
      torch.manualSeed(100 + i);
      // a different diagonal-ish boundary per scene
      const yy = torch.arange(0, 256).unsqueeze(1).expand([256, 256]);
      const xx = torch.arange(0, 256).unsqueeze(0).expand([256, 256]);
      const cls = xx.add(yy.mul(0.5 + 0.3 * i)).gt(180 + 20 * i).to('uint8'); // 0 or 1
      const red = torch.tensor([200, 40, 40], { shape: [3, 1, 1] });
      const blue = torch.tensor([40, 60, 200], { shape: [3, 1, 1] });
      const c = cls.unsqueeze(0).to('float32');
      const img = red.mul(c.neg().add(1)).add(blue.mul(c)).add(torch.randn([3, 256, 256]).mul(20)).clamp(0, 255).to('uint8');
      await writeCog(join(dir, 'images', `${name}.tif`), img, { geoTransform: [500000, 1, 0, 2800000, 0, -1], crs: 'EPSG:32640' });
      await writeCog(join(dir, 'labels', `${name}.tif`), cls.unsqueeze(0));
    });
  }
  writeFileSync(join(dir, 'classes.yaml'), 'classes:\n  - { id: 0, name: red, color: "#C82828" }\n  - { id: 1, name: blue, color: "#283CC8" }\n');
  const out = join(dir, 'ds');
  await prepare({ images: join(dir, 'images'), labels: join(dir, 'labels'), classes: join(dir, 'classes.yaml'), out, tile: 256, overlap: 0 });
  const ds = readDataset(out);
  ds.split = scenesSplit(ds.tiles, ds.scenes.map((s) => s.id), scenes[scenes.length - 1]);
  writeFileDurable(join(out, 'dataset.json'), JSON.stringify(ds));
  return out;
}
