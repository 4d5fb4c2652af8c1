// The viewer end to end in real Chromium (headless, software WebGL): a run trained by the test is
// listed, its confusion matrix shows the log's numbers, and a map shows prediction and truth
// COGs (streamed by range requests) with the right colours on each side of the swipe line.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@geoseg/torch';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { writeCog } from '../src/raster/write.js';
import { parseTrainConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { serve, type RunningServer } from '../src/server/index.js';
import { tinyDataset } from './helpers/tiny-dataset.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (install Debian's chromium: scripts/setup.sh does)`;
const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const web = join(repo, 'packages/geoseg/web');

const RED: [number, number, number] = [200, 40, 40];
const BLUE: [number, number, number] = [40, 60, 200];
const CLASSES = [{ id: 0, name: 'red', color: RED }, { id: 1, name: 'blue', color: BLUE }];

/** Build the web app when dist is missing or older than its sources (setup.sh does the same). */
function ensureWebBuilt(): void {
  const newest = (p: string): number => (statSync(p).isDirectory() ? Math.max(0, ...readdirSync(p).map((f) => newest(join(p, f)))) : statSync(p).mtimeMs);
  const built = join(web, 'dist', 'index.html');
  if (existsSync(built) && statSync(built).mtimeMs >= Math.max(newest(join(web, 'src')), newest(join(web, 'index.html')))) return;
  const r = spawnSync(process.execPath, [join(repo, 'node_modules/vite/bin/vite.js'), 'build', web, '--logLevel', 'error'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `vite build failed: ${r.stderr}`);
}

/**
 * One map of 64×64 px: prediction red on the left half, blue on the right; truth blue on the top
 * half, red on the bottom; confidence 204 (80 %) everywhere; grey imagery.
 */
type Grid = { geoTransform?: number[]; crs?: string };

async function writeMap(dir: string, grid: Grid, title: string, predictionGrid: Grid = grid, image?: () => torch.Tensor): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const palette = CLASSES.map((c) => [...c.color, 255] as [number, number, number, number]);
  await torch.tidy(async () => {
    const xx = torch.arange(0, 64).unsqueeze(0).expand([64, 64]);
    const yy = torch.arange(0, 64).unsqueeze(1).expand([64, 64]);
    await writeCog(join(dir, 'image.tif'), image ? image() : torch.full([3, 64, 64], 128, { dtype: 'uint8' }), grid);
    await writeCog(join(dir, 'prediction.tif'), xx.ge(32).to('uint8').unsqueeze(0), { ...predictionGrid, colorTable: palette });
    await writeCog(join(dir, 'truth.tif'), yy.lt(32).to('uint8').unsqueeze(0), { ...grid, colorTable: palette, nodata: 255 });
    await writeCog(join(dir, 'confidence.tif'), torch.full([1, 64, 64], 204, { dtype: 'uint8' }), grid);
  });
  writeFileSync(join(dir, 'map.json'), JSON.stringify({
    title, classes: CLASSES, ignoreIndex: 255,
    layers: { image: 'image.tif', prediction: 'prediction.tif', truth: 'truth.tif', confidence: 'confidence.tif' },
  }));
}

/** Colours of the screenshot at page points (CSS px), decoded by the browser itself. */
async function colorsAt(page: Page, points: [number, number][]): Promise<number[][]> {
  const png = (await page.screenshot()).toString('base64');
  return page.evaluate(async ({ png, points }) => {
    const bitmap = await createImageBitmap(await (await fetch(`data:image/png;base64,${png}`)).blob());
    const ctx = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d')!;
    ctx.drawImage(bitmap, 0, 0);
    return points.map(([x, y]) => Array.from(ctx.getImageData(Math.round(x), Math.round(y), 1, 1).data.slice(0, 3)));
  }, { png, points });
}

function near(actual: number[], expected: number[], what: string): void {
  assert.ok(actual.every((v, i) => Math.abs(v - expected[i]) <= 6), `${what}: got rgb(${actual}), expected rgb(${expected})`);
}

describe('geoseg serve in Chromium', { skip }, () => {
  let dir: string, server: RunningServer, context: BrowserContext, page: Page;
  let log: Record<string, any>[];
  const pageErrors: string[] = [];

  before(async () => {
    ensureWebBuilt();
    dir = mkdtempSync(join(tmpdir(), 'geoseg-web-'));
    const runs = join(dir, 'runs');
    const ds = await tinyDataset(join(dir, 'data'), ['a', 'b']);
    await train(parseTrainConfig({
      out: join(runs, 'tiny'),
      data: { dataset: ds, crop: 64, batch: 2 },
      model: { arch: 'unet', encoder: 'resnet18', decoderChannels: [16, 16, 16, 16, 16] },
      optimizer: { name: 'adam', lr: 0.002 },
      eval: { window: 128, overlap: 0, batch: 4 },
      train: { iterations: 2, logEvery: 1, evalEvery: 1, checkpointEvery: 1, seed: 1 },
    }, 'web.test'), { progress: false });
    log = readFileSync(join(runs, 'tiny', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    // a georeferenced map inside the run, and one without CRS (pixel grid) outside any run
    await writeMap(join(runs, 'tiny', 'maps', 'val', 'b'), { geoTransform: [500000, 1, 0, 2800000, 0, -1], crs: 'EPSG:32640' }, 'scene b');
    // (its prediction has no geotransform at all, like `geoseg predict` on a JPEG: it must still line up)
    await writeMap(join(runs, 'predictions', 'plain'), { geoTransform: [0, 1, 0, 0, 0, -1] }, 'plain pixels', {});
    // 16-bit imagery: 1000 on the left half, 3000 on the right (scaled by the Int16 range, both would be one mid grey)
    await writeMap(join(runs, 'predictions', 'wide'), { geoTransform: [0, 1, 0, 0, 0, -1] }, 'sixteen bit', undefined,
      () => torch.arange(0, 64).ge(32).mul(2000).add(1000).to('int16').expand([3, 64, 64]).contiguous());
    server = await serve({ roots: [runs], port: 0 });
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM, headless: true, viewport: { width: 1000, height: 640 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--enable-unsafe-swiftshader'],
      // The browser is not ours to sanitize: under npm run test:asan it starts without the ASan runtime.
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'LD_PRELOAD')) as Record<string, string>,
    });
    page = context.pages()[0] ?? await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  after(async () => {
    // clean up first: a failed assertion must not leave Chromium and the server running
    try {
      await context?.close();
    } finally {
      await server?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  });

  test('the runs page lists the run, its status and best mIoU, and the map outside it', async () => {
    await page.goto(`${server.url}#/`);
    const row = page.locator('tr[data-run="tiny"]');
    await row.waitFor();
    assert.equal(await row.getByTestId('status').textContent(), 'finished');
    const best = Math.max(...log.filter((e) => e.type === 'eval').map((e) => e.mIoU));
    assert.match((await row.getByTestId('best').textContent())!, new RegExp(`^${(100 * best).toFixed(1).replace('.', '\\.')} @\\d+$`));
    assert.deepEqual(await page.getByTestId('maps').locator('a').allTextContents(), ['plain pixels', 'sixteen bit']);
  });

  test('the run page draws learning curves and the confusion matrix of the last validation, row-normalized', async () => {
    await page.goto(`${server.url}#/runs/tiny`);
    await page.getByTestId('confusion').waitFor();
    const evals = log.filter((e) => e.type === 'eval');
    const matrix: number[][] = evals.at(-1).matrix;
    const expected = matrix.map((row) => row.map((v) => (100 * v / row.reduce((a, b) => a + b, 0)).toFixed(1)));
    const shown = await page.locator('[data-testid=confusion] g.cell').evaluateAll((cells) => cells.map((c) => [Number(c.getAttribute('data-row')), Number(c.getAttribute('data-col')), c.querySelector('text')!.textContent]));
    assert.equal(shown.length, 4);
    for (const [i, j, text] of shown) assert.equal(text, expected[i as number][j as number], `cell truth ${i} → predicted ${j}`);
    assert.deepEqual(await page.locator('[data-testid=confusion] text.tick').allTextContents(), ['red', 'red', 'blue', 'blue'], 'class names on both axes');
    assert.deepEqual(await page.locator('[data-testid=iou] text[data-class]').allTextContents(), evals.at(-1).iou.map((v: number | null) => (v === null ? 'n/a' : (100 * v).toFixed(1))));
    // one marker per logged point: 2 train steps (loss and lr), 2 validations (mIoU and pixel accuracy)
    const markers = (chart: string) => page.locator(`[data-testid=curves] svg[aria-label="${chart}"] circle`).count();
    assert.equal(log.filter((e) => e.type === 'train').length, 2);
    assert.equal(evals.length, 2);
    assert.equal(await markers('training loss'), 2);
    assert.equal(await markers('learning rate'), 2);
    assert.equal(await markers('validation (%)'), 4);
    assert.deepEqual(await page.getByTestId('maps').locator('a').allTextContents(), ['scene b']);
  });

  /** Page coordinates of the centre of raster pixel (col, row), for maps whose pixels are 1 unit. */
  async function pagePoint(col: number, row: number, origin: [number, number]): Promise<[number, number]> {
    const box = (await page.getByTestId('map').boundingBox())!;
    const [x, y] = await page.evaluate(([x, y]) => (window as any).geoseg.map.getPixelFromCoordinate([x, y]), [origin[0] + col + 0.5, origin[1] - row - 0.5]);
    return [box.x + x, box.y + y];
  }

  async function rendered(after: number): Promise<number> {
    const handle = await page.waitForFunction((n) => Number(document.querySelector('[data-testid=map]')?.getAttribute('data-renders')) > n, after);
    await handle.dispose();
    return Number(await page.getByTestId('map').getAttribute('data-renders'));
  }

  test('the map shows the prediction, the swipe shows truth right of the line, the inspector names the classes', async () => {
    await page.goto(`${server.url}#/runs/tiny`);
    await page.getByTestId('maps').locator('a').first().click();
    let renders = await rendered(0);
    assert.equal(await page.getByTestId('map-title').textContent(), 'scene b');
    assert.deepEqual(await page.getByTestId('legend').locator('li').allTextContents(), ['red', 'blue']);
    await page.getByTestId('opacity').fill('100');
    renders = await rendered(renders);
    const origin: [number, number] = [500000, 2800000];
    // raster quarters: top-left, top-right, bottom-left, bottom-right
    const points = await Promise.all([[16, 16], [48, 16], [16, 48], [48, 48]].map(([c, r]) => pagePoint(c, r, origin)));
    // swipe at 100: the prediction everywhere (red left, blue right)
    await page.getByTestId('swipe').fill('100');
    renders = await rendered(renders);
    let c = await colorsAt(page, points);
    near(c[0], RED, 'prediction, top-left'); near(c[1], BLUE, 'prediction, top-right'); near(c[2], RED, 'prediction, bottom-left'); near(c[3], BLUE, 'prediction, bottom-right');
    // swipe in the middle: prediction left of the line, truth (blue top, red bottom) right of it
    await page.getByTestId('swipe').fill('50');
    renders = await rendered(renders);
    c = await colorsAt(page, points);
    near(c[0], RED, 'prediction left, top'); near(c[2], RED, 'prediction left, bottom');
    near(c[1], BLUE, 'truth right, top'); near(c[3], RED, 'truth right, bottom');
    // swipe at 0: the truth everywhere
    await page.getByTestId('swipe').fill('0');
    renders = await rendered(renders);
    c = await colorsAt(page, points);
    near(c[0], BLUE, 'truth, top-left'); near(c[2], RED, 'truth, bottom-left');
    // the inspector at the top-left quarter: predicted red with 80 % confidence, truth blue
    await page.mouse.move(...points[0]);
    await page.locator('[data-testid=inspector] dd[data-field=prediction]').waitFor();
    assert.equal(await page.locator('[data-testid=inspector] dd[data-field=prediction]').textContent(), 'red');
    assert.equal(await page.locator('[data-testid=inspector] dd[data-field=truth]').textContent(), 'blue');
    assert.equal(await page.locator('[data-testid=inspector] dd[data-field=confidence]').textContent(), '80.0 %');
    assert.equal(await page.locator('[data-testid=inspector] dd[data-field=pixel]').textContent(), '16, 16');
  });

  test('a map without CRS (pixel grid) shows its prediction, a prediction without geotransform aligned on the others', async () => {
    await page.goto(`${server.url}#/`);
    await page.getByTestId('maps').locator('a', { hasText: 'plain pixels' }).click();
    let renders = await rendered(0);
    await page.getByTestId('opacity').fill('100');
    renders = await rendered(renders);
    await page.getByTestId('swipe').fill('100');
    await rendered(renders);
    const points = await Promise.all([[16, 40], [48, 40], [48, 16]].map(([c, r]) => pagePoint(c, r, [0, 0])));
    const c = await colorsAt(page, points);
    // (unaligned, the prediction would lie above the raster and these pixels would be grey imagery)
    near(c[0], RED, 'left half'); near(c[1], BLUE, 'right half'); near(c[2], BLUE, 'right half, top');
  });

  test('16-bit imagery is stretched between its percentiles, not by the type range', async () => {
    await page.goto(`${server.url}#/`);
    await page.getByTestId('maps').locator('a', { hasText: 'sixteen bit' }).click();
    let renders = await rendered(0);
    await page.getByTestId('opacity').fill('0'); // classes transparent: the imagery alone
    renders = await rendered(renders);
    const points = await Promise.all([[16, 32], [48, 32]].map(([c, r]) => pagePoint(c, r, [0, 0])));
    const c = await colorsAt(page, points);
    near(c[0], [0, 0, 0], 'left half (1000, the 2nd percentile)');
    near(c[1], [255, 255, 255], 'right half (3000, the 98th percentile)');
  });
});
