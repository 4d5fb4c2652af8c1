// The demo (`npm run demo`): from the Dubai subset shipped in demo/dubai to a land-cover map in the
// browser. Runs the same `geoseg` commands a user would (each printed before it runs):
// prepare → stats → split → train → eval (with maps) → predict a held-out scene (COG + polygons).
// Everything lands in demo-out/; running it again starts the training over.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@geoseg/torch';
import { CLASSES_METADATA_KEY, Raster, decodeMask, readClassTable, writeCog, type MapManifest, type Rgba } from 'geoseg';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'packages/geoseg/dist/cli/main.js');
const data = join(repo, 'demo', 'dubai');
const out = join(repo, 'demo-out');
const rel = (p: string) => relative(repo, p) || '.';

function geoseg(...args: string[]): void {
  console.log(`\n$ npx geoseg ${args.map((a) => (a.includes('*') ? `'${a}'` : a)).join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: repo, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`demo: geoseg ${args[0]} failed (exit ${r.status ?? r.signal}); see the message above`);
    process.exit(1);
  }
}

/** The held-out scene's image and truth as COGs beside the prediction, and a map.json for the viewer. */
async function heldOutMap(dir: string, image: string, mask: string): Promise<void> {
  const table = readClassTable(join(data, 'classes.yaml'));
  const classes = table.classes.map((c) => ({ id: c.id, name: c.name, color: c.color }));
  const palette = table.classes.map((c) => [...c.color, 255] as Rgba);
  const pixelGrid = { geoTransform: [0, 1, 0, 0, 0, -1], overwrite: true }; // the JPEG has no georeference
  const img = await Raster.open(image);
  const lab = await Raster.open(mask);
  try {
    const all = { x: 0, y: 0, width: img.info.width, height: img.info.height };
    await torch.tidy(async () => {
      await writeCog(join(dir, 'image.tif'), await img.read(all), pixelGrid);
      const decoded = decodeMask(await lab.read(all), table, { colorTable: lab.info.colorTable, where: mask });
      await writeCog(join(dir, 'truth.tif'), decoded.index, { ...pixelGrid, colorTable: palette, nodata: table.ignoreIndex, metadata: { [CLASSES_METADATA_KEY]: JSON.stringify(classes) } });
    });
  } finally {
    img.close();
    lab.close();
  }
  const manifest: MapManifest = {
    title: 'held-out tile_4/image_part_005', classes, ignoreIndex: table.ignoreIndex,
    layers: { image: 'image.tif', prediction: 'classes.tif', truth: 'truth.tif', confidence: 'confidence.tif' },
  };
  writeFileSync(join(dir, '.map.json.tmp'), JSON.stringify(manifest, null, 1));
  renameSync(join(dir, '.map.json.tmp'), join(dir, 'map.json'));
}

async function main(): Promise<void> {
  const started = Date.now();
  mkdirSync(out, { recursive: true });
  const dataset = join(out, 'dataset');
  geoseg('prepare', '--images', rel(join(data, 'images')), '--labels', rel(join(data, 'masks')), '--classes', rel(join(data, 'classes.yaml')),
    '--out', rel(dataset), '--tile', '256', '--overlap', '0.25', '--overwrite'); // the previous demo's dataset, if any
  geoseg('stats', rel(dataset), '--plot', rel(join(out, 'classes.png')), '--overwrite');
  geoseg('split', rel(dataset), '--val-scenes', 'tile_3/*', '--sampling', 'class-balanced');
  rmSync(join(out, 'run'), { recursive: true, force: true }); // a fresh run each time
  geoseg('train', '--config', rel(join(repo, 'demo', 'demo.yaml')));
  const run = join(out, 'run');
  geoseg('eval', '--checkpoint', rel(run), '--data', rel(dataset), '--maps', rel(join(run, 'maps', 'val')));
  const pred = join(out, 'held-out');
  rmSync(pred, { recursive: true, force: true });
  mkdirSync(pred, { recursive: true });
  const scene = join(data, 'held-out', 'tile_4_image_part_005');
  geoseg('predict', '--checkpoint', rel(run), '--input', rel(`${scene}.jpg`), '--output', rel(join(pred, 'classes.tif')),
    '--confidence', rel(join(pred, 'confidence.tif')), '--tta', 'flip', '--sieve', '16', '--vector', rel(join(pred, 'classes.gpkg')));
  await heldOutMap(pred, `${scene}.jpg`, `${scene}.png`);

  const minutes = ((Date.now() - started) / 60000).toFixed(1);
  const results: [string, string][] = [
    [`${rel(dataset)}/dataset.json`, 'the prepared dataset (tiles, class statistics, split)'],
    [`${rel(out)}/classes.png`, 'class frequencies'],
    [`${rel(run)}/`, 'the run: config.json, log.jsonl, checkpoints/{latest,best}'],
    [`${rel(run)}/maps/val/<scene>/`, 'validation scenes: image, prediction, confidence, truth (COGs)'],
    [`${rel(pred)}/classes.tif`, "the held-out scene's land-cover map (COG), with confidence.tif"],
    [`${rel(pred)}/classes.gpkg`, 'its polygons (class id, name, area)'],
  ];
  const width = Math.max(...results.map(([p]) => p.length));
  console.log(`\ndemo finished in ${minutes} min. Results:\n${results.map(([p, what]) => `  ${p.padEnd(width)}  ${what}`).join('\n')}`);
  console.log(`\nOpen the viewer:  npx geoseg serve ${rel(out)}     (then the printed http://127.0.0.1 address)`);
  if (!existsSync(join(pred, 'classes.gpkg'))) throw new Error('demo: the polygons were not written');
}

main().catch((e) => {
  console.error(`demo: ${(e as Error).message}`);
  process.exit(1);
});
