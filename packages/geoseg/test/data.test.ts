import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import gdal from 'gdal-async';
import * as torch from '@geoseg/torch';
import { classTableFrom, countClasses, decodeMask, readClassTable, withRaster, ClassTableError } from '../src/index.js';
import { slowTest } from './helpers/tier.js';

const dubai = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'shared', 'data', 'dubai_aerial');

// The Dubai colour table (SOURCE.md), with its unlabeled colours ignored.
const DUBAI = {
  ignoreIndex: 255,
  classes: [
    { id: 0, name: 'Building', color: '#3C1098' },
    { id: 1, name: 'Land', color: '#8429F6' },
    { id: 2, name: 'Road', color: '#6EC1E4' },
    { id: 3, name: 'Vegetation', color: '#FEDD3A' },
    { id: 4, name: 'Water', color: '#E2A929' },
  ],
  ignore: ['#9B9B9B', '#000000'],
};

test('class tables: merges, ignore, and errors naming the file and field', () => {
  const t = classTableFrom({ classes: [{ id: 0, name: 'built', color: '#FF0000', from: ['#FF0000', '#AA0000', 7, 8] }, { id: 1, name: 'green', color: '#00FF00' }], ignore: [0] }, 'c.yaml');
  assert.equal(t.colorMap.get(0xaa0000), 0);
  assert.equal(t.idMap.get(8), 0);
  assert.equal(t.idMap.get(1), 1, 'a class without `from` takes its own id');
  assert.equal(t.idMap.get(0), 255, 'ignored ids go to the ignore index');
  const bad: [unknown, RegExp][] = [
    [{ classes: [{ id: 0, name: 'a', color: '#FF0000' }, { id: 0, name: 'b', color: '#00FF00' }] }, /c\.yaml: classes: duplicate id 0 \(b\)/],
    [{ classes: [{ id: 0, name: 'a', color: '#FF0000' }, { id: 1, name: 'b', color: '#ff0000' }] }, /class b: source #FF0000 is already used/],
    [{ classes: [{ id: 0, name: 'a', color: 'red' }] }, /c\.yaml: classes\.0\.color: a colour like/],
    [{ classes: [{ id: 255, name: 'a', color: '#FF0000' }] }, /classes\.0\.id/],
    [{ ignoreIndex: 3, classes: [{ id: 3, name: 'a', color: '#FF0000' }] }, /id 3 \(a\) equals ignoreIndex/],
    [{ classes: [{ id: 0, name: 'a', color: '#FF0000', colour: 1 }] }, /Unrecognized key/],
    [{ classes: [] }, /classes: Array must contain at least 1/],
  ];
  for (const [doc, message] of bad) assert.throws(() => classTableFrom(doc, 'c.yaml'), (e: Error) => e instanceof ClassTableError && message.test(e.message), JSON.stringify(doc));
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-classes-'));
  writeFileSync(join(dir, 'c.yaml'), 'ignoreIndex: 255\nclasses:\n  - { id: 0, name: Building, color: "#3C1098" }\nignore: ["#9B9B9B"]\n');
  assert.equal(readClassTable(join(dir, 'c.yaml')).classes[0].name, 'Building');
  writeFileSync(join(dir, 'broken.yaml'), 'classes: [ {id: 0');
  assert.throws(() => readClassTable(join(dir, 'broken.yaml')), /broken\.yaml: not valid YAML/);
});

test('RGB, palette and index masks decode to class ids; unknown colours are counted, ignored or rejected', () => {
  const table = classTableFrom(DUBAI, 'dubai');
  torch.tidy(() => {
    // 2x3 RGB mask: Building, Land, Road / unlabeled grey, unknown red, Building
    const rgb = torch.tensor([
      [[60, 132, 110], [155, 255, 60]],
      [[16, 41, 193], [155, 0, 16]],
      [[152, 246, 228], [155, 0, 152]],
    ], { dtype: 'uint8' });
    const d = decodeMask(rgb, table, { where: 'm.png' });
    assert.equal(d.encoding, 'rgb');
    assert.deepEqual(d.index.toArray(), [[0, 1, 2], [255, 255, 0]]);
    assert.deepEqual([...d.unknown], [['#FF0000', 1]]);
    assert.throws(() => decodeMask(rgb, table, { where: 'm.png', unknown: 'error' }), /m\.png: colours not in the class table: #FF0000 \(1 px\)/);
    // palette: entry order differs from the class order, as in the Dubai palette PNGs
    const palette: [number, number, number, number][] = [[226, 169, 41, 255], [60, 16, 152, 255], [155, 155, 155, 255]];
    const p = decodeMask(torch.tensor([[[0, 1, 2, 1]]], { dtype: 'uint8' }), table, { colorTable: palette });
    assert.equal(p.encoding, 'palette');
    assert.deepEqual(p.index.toArray(), [[4, 0, 255, 0]]);
    // index masks: the seeds' merges (several source ids into one class)
    const merge = classTableFrom({ classes: [{ id: 0, name: 'farmland', color: '#00FF00', from: [3, 4] }, { id: 1, name: 'water', color: '#0000FF', from: [9] }], ignore: [0] }, 'merge');
    const i = decodeMask(torch.tensor([[[3, 4, 9, 0, 5]]], { dtype: 'uint8' }), merge);
    assert.deepEqual(i.index.toArray(), [[0, 0, 1, 255, 255]]);
    assert.deepEqual([...i.unknown], [['id 5', 1]]);
    assert.deepEqual(countClasses(i.index, 2, 255), { pixels: [2, 1], ignored: 2 });
  });
});

slowTest('Dubai: per-class pixel totals of all 72 masks equal an independent count (needs ../shared/data)', { skip: existsSync(dubai) ? false : 'needs ../shared/data/dubai_aerial beside the repository' }, async () => {
  const table = classTableFrom(DUBAI, 'dubai');
  const ours = [0, 0, 0, 0, 0];
  let oursIgnored = 0;
  const reference = new Map<number, number>(); // packed RGB → pixels, counted in plain JS from GDAL's bytes
  const tiles = readdirSync(join(dubai, 'masks')).sort();
  let masks = 0;
  for (const tile of tiles) {
    for (const file of readdirSync(join(dubai, 'masks', tile)).sort()) {
      const path = join(dubai, 'masks', tile, file);
      masks++;
      await withRaster(path, async (r) => {
        await torch.tidy(async () => {
          const mask = await r.read({ x: 0, y: 0, width: r.info.width, height: r.info.height });
          const d = decodeMask(mask, table, { colorTable: r.info.colorTable, unknown: 'error', where: path });
          const c = countClasses(d.index, 5, 255);
          c.pixels.forEach((n, k) => { ours[k] += n; });
          oursIgnored += c.ignored;
        });
      });
      // Independent path: GDAL's own RGB expansion of palettes (gdal.open + band reads), JS counting.
      const ds = gdal.open(path);
      const { x: w, y: h } = ds.rasterSize;
      const bands = ds.bands.count();
      let r8: ArrayLike<number>, g8: ArrayLike<number>, b8: ArrayLike<number>;
      if (bands >= 3) {
        [r8, g8, b8] = [1, 2, 3].map((b) => ds.bands.get(b).pixels.read(0, 0, w, h));
      } else {
        const idx = ds.bands.get(1).pixels.read(0, 0, w, h);
        const ct = ds.bands.get(1).colorTable!;
        const pal = Array.from({ length: ct.count() }, (_, i) => ct.get(i));
        r8 = Array.from(idx, (v) => pal[v].c1); g8 = Array.from(idx, (v) => pal[v].c2); b8 = Array.from(idx, (v) => pal[v].c3);
      }
      for (let i = 0; i < w * h; i++) {
        const key = (r8[i] << 16) | (g8[i] << 8) | b8[i];
        reference.set(key, (reference.get(key) ?? 0) + 1);
      }
      ds.close();
    }
  }
  assert.equal(masks, 72);
  const refClass = DUBAI.classes.map((c) => reference.get(parseInt(c.color.slice(1), 16)) ?? 0);
  assert.deepEqual(ours, refClass);
  const total = [...reference.values()].reduce((a, b) => a + b, 0);
  assert.equal(total, 99_032_243, 'SOURCE.md: 99,032,243 mask pixels in all');
  assert.equal(oursIgnored, (reference.get(0x9b9b9b) ?? 0) + (reference.get(0) ?? 0));
  assert.equal(reference.size, 7, 'SOURCE.md: only 7 colours occur');
});
