// geoseg serve's HTTP server: only files under the roots ('..', absolute, encoded and symlinked
// escapes refused), Range requests (206 / 416 / 400), runs and maps read from real run folders,
// raster descriptions through GDAL, 4xx answers for bad requests, and the server answering after each;
// nothing read through symlinks out of the root, one bad run folder not hiding the others, 421 for
// a foreign Host header (DNS rebinding), files closed when a download is cut.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '@geoseg/torch';
import { CLASSES_METADATA_KEY, writeCog } from '../src/raster/write.js';
import { parseRange, serve, type RunningServer } from '../src/server/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const SECRET = 'top secret: outside the roots';
const BYTES = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) % 256));
const CLASSES = [{ id: 0, name: 'Building', color: [60, 16, 152] }, { id: 1, name: 'Land', color: [132, 41, 246] }];

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

/** A raw GET (the path is sent as is: no URL normalization folds '..' away). */
function get(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const json = (a: Answer) => JSON.parse(a.body.toString('utf8'));

function line(o: object): string {
  return JSON.stringify({ time: '2026-01-01T00:00:00Z', ...o }) + '\n';
}

function writeRun(dir: string, log: string, meta?: object): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ out: dir, model: { arch: 'unet', encoder: 'resnet18' }, loss: 'ce', optimizer: { name: 'adam', lr: 0.001 }, train: { iterations: 4 } }));
  writeFileSync(join(dir, 'log.jsonl'), log);
  if (meta) {
    mkdirSync(join(dir, 'checkpoints', 'best'), { recursive: true });
    writeFileSync(join(dir, 'checkpoints', 'best', 'meta.json'), JSON.stringify(meta));
  }
}

const EVAL_1 = { type: 'eval', step: 2, mIoU: 0.4, pixelAccuracy: 0.6, iou: [0.5, 0.3], matrix: [[50, 10], [30, 10]] };
const EVAL_2 = { type: 'eval', step: 4, mIoU: 0.6, pixelAccuracy: 0.8, iou: [0.7, null], matrix: [[70, 5], [15, 10]] };

describe('geoseg serve (HTTP)', () => {
  let dir: string, root: string, other: string, server: RunningServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'geoseg-serve-'));
    root = join(dir, 'root');
    other = join(dir, 'other');
    mkdirSync(join(dir, 'secret'), { recursive: true });
    writeFileSync(join(dir, 'secret', 'passwd.txt'), SECRET);
    mkdirSync(root);
    writeFileSync(join(root, 'data.bin'), BYTES);
    writeFileSync(join(root, 'empty.bin'), '');
    writeFileSync(join(root, 'bad.tif'), 'not a tiff at all');
    writeFileSync(join(root, 'page.html'), '<script>alert(1)</script>');
    symlinkSync(join(dir, 'secret', 'passwd.txt'), join(root, 'link.txt'));
    symlinkSync('../secret', join(root, 'linkdir'));
    symlinkSync('data.bin', join(root, 'inner.bin')); // a symlink that stays inside the root is fine
    // runs: finished (with a line cut by a kill), stopped (old log, no end), running (fresh log), interrupted
    const train = (step: number) => line({ type: 'train', step, loss: 1 / step, lr: 0.001, itPerSecond: 2, elapsedSeconds: step });
    writeRun(join(root, 'exp', 'a'), train(1) + train(2) + line(EVAL_1) + train(3) + train(4) + line(EVAL_2) + line({ type: 'end', step: 4, reason: 'finished', elapsedSeconds: 9 }) + '{"time":"2026-01-01T00:00:0',
      { step: 4, classes: CLASSES, ignoreIndex: 255, model: { classes: 2 }, best: { metric: 'mIoU', value: 0.6, step: 4 } });
    writeRun(join(root, 'b'), train(1) + line(EVAL_1));
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(join(root, 'b', 'log.jsonl'), old, old);
    writeRun(join(root, 'c'), train(1));
    // running.json (written by the trainer while it trains) decides over the log's age: a live
    // process is running however quiet its log; a dead one (kill -9) is stopped however fresh;
    // a lock from another host says nothing (the log's age decides)
    const lock = (dir: string, pid: number, host = hostname()) => writeFileSync(join(dir, 'running.json'), JSON.stringify({ pid, host, startedAt: old.toISOString() }));
    writeRun(join(root, 'quiet'), train(1));
    utimesSync(join(root, 'quiet', 'log.jsonl'), old, old);
    lock(join(root, 'quiet'), process.pid);
    writeRun(join(root, 'killed'), train(1));
    lock(join(root, 'killed'), spawnSync('true').pid!);
    writeRun(join(root, 'remote'), train(1));
    utimesSync(join(root, 'remote', 'log.jsonl'), old, old);
    lock(join(root, 'remote'), process.pid, 'some-other-host');
    writeRun(join(root, 'deep', 'er', 'd'), train(1) + line({ type: 'end', step: 1, reason: 'interrupted' }));
    writeRun(join(root, 'too', 'deep', 'for', 'e'), train(1)); // depth 4: not a run
    mkdirSync(join(root, 'too', 'deep', 'for', 'e', 'maps', 'x'), { recursive: true }); // so its map belongs to no run
    writeFileSync(join(root, 'too', 'deep', 'for', 'e', 'maps', 'x', 'map.json'), JSON.stringify({ title: 'deep', layers: {} }));
    // maps: one inside run exp/a, one outside any run; rasters with and without a CRS
    const mapIn = join(root, 'exp', 'a', 'maps', 'val', 's1');
    const mapOut = join(root, 'predictions', 'p');
    for (const m of [mapIn, mapOut]) mkdirSync(m, { recursive: true });
    await torch.tidy(async () => {
      const cls = torch.arange(0, 2).reshape([1, 2, 1]).expand([1, 2, 16]).to('uint8').contiguous();
      await writeCog(join(mapIn, 'prediction.tif'), cls, {
        geoTransform: [500000, 2, 0, 2800000, 0, -2], crs: 'EPSG:32640', nodata: 255,
        colorTable: CLASSES.map((c) => [...c.color, 255] as [number, number, number, number]), metadata: { [CLASSES_METADATA_KEY]: JSON.stringify(CLASSES) },
      });
      await writeCog(join(mapOut, 'prediction.tif'), cls, { geoTransform: [0, 1, 0, 0, 0, -1] });
      // 16-bit imagery, 40×30: bands i, 2i and 1000 + i for i = 0..999, then 200 nodata pixels
      const i = torch.arange(0, 1200);
      const bands = torch.stack([i, i.mul(2), i.add(1000)]).maskedFill(i.ge(1000), -1).to('int16').reshape([3, 30, 40]);
      await writeCog(join(mapOut, 'image16.tif'), bands, { geoTransform: [0, 1, 0, 0, 0, -1], nodata: -1 });
    });
    for (const [m, title] of [[mapIn, 's1'], [mapOut, 'plain']]) {
      writeFileSync(join(m, 'map.json'), JSON.stringify({ title, classes: CLASSES, ignoreIndex: 255, layers: { image: null, prediction: 'prediction.tif', truth: null, confidence: null } }));
    }
    mkdirSync(join(other, 'z'), { recursive: true });
    writeRun(join(other, 'z'), train(1));
    server = await serve({ roots: [root], port: 0, webDir: join(dir, 'no-web') });
  });

  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The server still answers a good request. */
  async function stillServing(): Promise<void> {
    const a = await get(server.url, '/api/runs');
    assert.equal(a.status, 200, 'the server answers after a bad request');
  }

  test('binds 127.0.0.1 by default', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  test("files outside the root are refused: '..', encoded '..', absolute paths, symlinks out", async () => {
    for (const path of [
      '/files/0/../secret/passwd.txt', '/files/0/%2e%2e/secret/passwd.txt', '/files/0/%2E%2E%2Fsecret%2Fpasswd.txt',
      '/files/0/exp/../../secret/passwd.txt', '/files/0/..%5csecret%5cpasswd.txt', '/files/0//etc/passwd', '/files/0/%2Fetc%2Fpasswd',
      '/files/0/link.txt', '/files/0/linkdir/passwd.txt', `/files/0/${encodeURIComponent(join(dir, 'secret', 'passwd.txt'))}`,
      `/api/raster?path=${encodeURIComponent('/files/0/../secret/passwd.txt')}`, `/api/raster?path=${encodeURIComponent('/files/0/link.txt')}`,
      '/../secret/passwd.txt', '/%2e%2e/secret/passwd.txt',
    ]) {
      const a = await get(server.url, path);
      assert.equal(a.status, 403, `${path}: ${a.status} ${a.body}`);
      assert.ok(!a.body.toString().includes(SECRET), path);
      assert.equal(typeof json(a).error, 'string');
      await stillServing();
    }
    for (const [path, status] of [['/files/7/data.bin', 404], ['/files/0/nope.bin', 404], ['/files/0/exp', 404], ['/files/0/%zz', 400], ['/api/raster?path=/etc/passwd', 400], ['/api/raster', 400], ['/api/nothing', 404]] as const) {
      const a = await get(server.url, path);
      assert.equal(a.status, status, `${path}: ${a.body}`);
      await stillServing();
    }
    const inner = await get(server.url, '/files/0/inner.bin');
    assert.equal(inner.status, 200);
    assert.deepEqual(inner.body, BYTES, 'a symlink within the root is served');
    // files from the roots are never served as HTML pages
    const html = await get(server.url, '/files/0/page.html');
    assert.equal(html.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(html.headers['content-security-policy'], 'sandbox');
    const post = await get(server.url, '/files/0/data.bin', {}, 'DELETE');
    assert.equal(post.status, 405);
  });

  test('parseRange: single ranges, suffixes, clamping; malformed → 400; unsatisfiable → 416', () => {
    assert.equal(parseRange(undefined, 10), null);
    assert.deepEqual(parseRange('bytes=0-0', 10), { start: 0, end: 0 });
    assert.deepEqual(parseRange('bytes=2-', 10), { start: 2, end: 9 });
    assert.deepEqual(parseRange('bytes=-3', 10), { start: 7, end: 9 });
    assert.deepEqual(parseRange('bytes=-30', 10), { start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=5-100', 10), { start: 5, end: 9 });
    assert.deepEqual(parseRange(' Bytes = 1 - 2 ', 10), { start: 1, end: 2 });
    const status = (h: string, size = 10) => { try { parseRange(h, size); return 0; } catch (e) { return (e as { status: number }).status; } };
    for (const bad of ['bytes=', 'bytes=-', 'bytes=a-b', 'bytes=3-1', 'items=0-1', 'bytes=0-1,3-4', 'bytes=1.5-2', '0-1', 'bytes=99999999999999999999-']) assert.equal(status(bad), 400, bad);
    for (const unsat of ['bytes=10-', 'bytes=10-20', 'bytes=-0']) assert.equal(status(unsat), 416, unsat);
    assert.equal(status('bytes=0-', 0), 416, 'an empty file has no byte to give');
  });

  test('range requests: 206 with Content-Range, 416 with bytes */size, 400 when malformed; the server goes on', async () => {
    const full = await get(server.url, '/files/0/data.bin');
    assert.equal(full.status, 200);
    assert.equal(full.headers['accept-ranges'], 'bytes');
    assert.equal(full.headers['content-length'], '1000');
    assert.deepEqual(full.body, BYTES);
    for (const [range, start, end] of [['bytes=0-9', 0, 9], ['bytes=990-', 990, 999], ['bytes=-5', 995, 999], ['bytes=995-5000', 995, 999], ['bytes=500-500', 500, 500]] as const) {
      const a = await get(server.url, '/files/0/data.bin', { Range: range });
      assert.equal(a.status, 206, range);
      assert.equal(a.headers['content-range'], `bytes ${start}-${end}/1000`, range);
      assert.equal(a.headers['content-length'], String(end - start + 1), range);
      assert.deepEqual(a.body, BYTES.subarray(start, end + 1), range);
    }
    for (const range of ['bytes=1000-', 'bytes=2000-3000', 'bytes=-0']) {
      const a = await get(server.url, '/files/0/data.bin', { Range: range });
      assert.equal(a.status, 416, range);
      assert.equal(a.headers['content-range'], 'bytes */1000', range);
      await stillServing();
    }
    for (const range of ['bytes=abc', 'bytes=9-3', 'pages=1-2', 'bytes=0-1,5-9', 'bytes=--1']) {
      const a = await get(server.url, '/files/0/data.bin', { Range: range });
      assert.equal(a.status, 400, range);
      assert.match(json(a).error, /Range|ranges/);
      await stillServing();
    }
    const empty = await get(server.url, '/files/0/empty.bin');
    assert.equal(empty.status, 200);
    assert.equal(empty.body.length, 0);
    const head = await get(server.url, '/files/0/data.bin', { Range: 'bytes=10-19' }, 'HEAD');
    assert.equal(head.status, 206);
    assert.equal(head.headers['content-length'], '10');
    assert.equal(head.body.length, 0);
  });

  test('runs: ids, statuses, best metric, classes, maps; cut log lines skipped; depth ≤ 3', async () => {
    const { runs, maps } = json(await get(server.url, '/api/runs'));
    const byId = Object.fromEntries(runs.map((r: { id: string }) => [r.id, r]));
    assert.deepEqual(Object.keys(byId).sort(), ['b', 'c', 'deep/er/d', 'exp/a', 'killed', 'quiet', 'remote']);
    assert.equal(byId['exp/a'].status, 'finished');
    assert.equal(byId.b.status, 'stopped');
    assert.equal(byId.c.status, 'running');
    assert.equal(byId['deep/er/d'].status, 'interrupted');
    assert.equal(byId.quiet.status, 'running', 'its process is alive');
    assert.equal(byId.killed.status, 'stopped', 'its process is gone');
    assert.equal(byId.remote.status, 'stopped', 'lock from another host: the old log decides');
    assert.deepEqual(byId['exp/a'].best, { metric: 'mIoU', value: 0.6, step: 4 });
    assert.deepEqual(byId.b.best, { metric: 'mIoU', value: 0.4, step: 2 }, 'without a checkpoint, the best logged validation');
    assert.deepEqual(byId['exp/a'].lastEval, { step: 4, mIoU: 0.6, pixelAccuracy: 0.8 });
    assert.equal(byId['exp/a'].config.model.encoder, 'resnet18');
    assert.deepEqual(maps, [
      { title: 'plain', manifest: '/files/0/predictions/p/map.json', run: null },
      { title: 'deep', manifest: '/files/0/too/deep/for/e/maps/x/map.json', run: null },
    ], 'maps outside runs (a folder deeper than runs are looked for is no run)');

    const a = json(await get(server.url, `/api/runs/${encodeURIComponent('exp/a')}`));
    assert.deepEqual(a.train.map((e: { step: number }) => e.step), [1, 2, 3, 4]);
    assert.deepEqual(a.evals.map((e: { matrix: number[][] }) => e.matrix), [EVAL_1.matrix, EVAL_2.matrix]);
    assert.equal(a.end.reason, 'finished');
    assert.deepEqual(a.classes, CLASSES);
    assert.deepEqual(a.maps, [{ title: 's1', manifest: '/files/0/exp/a/maps/val/s1/map.json', run: 'exp/a' }]);
    // no class metadata: numbered classes, as many as the matrix has
    const b = json(await get(server.url, '/api/runs/b'));
    assert.deepEqual(b.classes.map((c: { name: string }) => c.name), ['class 0', 'class 1']);
    const all = json(await get(server.url, '/api/maps')).maps;
    assert.deepEqual(all.map((m: { title: string }) => m.title).sort(), ['deep', 'plain', 's1']);
  });

  test('unknown runs get 404, escapes 403; the server goes on', async () => {
    for (const [id, status] of [['nope', 404], ['exp', 404], ['too/deep/for', 404], ['too%2Fdeep%2Ffor%2Fe', 404], ['..%2Fsecret', 403], ['%2Fetc', 403], ['%E0%A4%A', 400]] as const) {
      const a = await get(server.url, `/api/runs/${id}`);
      assert.equal(a.status, status, `${id}: ${a.body}`);
      assert.equal(typeof json(a).error, 'string');
      await stillServing();
    }
  });

  test('raster descriptions through GDAL: grid, CRS, palette, classes; unreadable → 422', async () => {
    const p = json(await get(server.url, `/api/raster?path=${encodeURIComponent('/files/0/exp/a/maps/val/s1/prediction.tif')}`));
    assert.equal(p.width, 16);
    assert.equal(p.height, 2);
    assert.equal(p.bands, 1);
    assert.deepEqual(p.dataTypes, ['Byte']);
    assert.deepEqual(p.nodata, [255]);
    assert.deepEqual(p.geoTransform, [500000, 2, 0, 2800000, 0, -2]);
    assert.deepEqual(p.extent, [500000, 2800000 - 4, 500032, 2800000]);
    assert.equal(p.epsg, 32640);
    assert.match(p.proj4, /\+proj=utm \+zone=40/);
    assert.equal(p.units, 'm');
    assert.deepEqual(p.colorTable.slice(0, 2), [[60, 16, 152, 255], [132, 41, 246, 255]]);
    assert.deepEqual(p.classes, CLASSES);
    assert.equal(p.displayRange, null, '8-bit rasters are drawn 0-255');
    // 16-bit: the 2nd and 98th percentiles of each band's valid pixels (nodata left out)
    const wide = json(await get(server.url, `/api/raster?path=${encodeURIComponent('/files/0/predictions/p/image16.tif')}`));
    assert.deepEqual(wide.dataTypes, ['Int16', 'Int16', 'Int16']);
    assert.deepEqual(wide.displayRange, { min: [20, 40, 1020], max: [980, 1960, 1980] });
    const plain = json(await get(server.url, `/api/raster?path=${encodeURIComponent('/files/0/predictions/p/prediction.tif')}`));
    assert.equal(plain.epsg, null);
    assert.equal(plain.units, 'pixels');
    assert.deepEqual(plain.extent, [0, -2, 16, 0]);
    for (const [path, status] of [['/files/0/bad.tif', 422], ['/files/0/data.bin', 422], ['/files/0/exp', 422], ['/files/0/missing.tif', 404]] as const) {
      const a = await get(server.url, `/api/raster?path=${encodeURIComponent(path)}`);
      assert.equal(a.status, status, `${path}: ${a.body}`);
      assert.ok(json(a).error.includes(path.split('/').pop()!), `the message names the file: ${json(a).error}`);
      await stillServing();
    }
    assert.match(json(await get(server.url, `/api/raster?path=${encodeURIComponent('/files/0/exp')}`)).error, /not a file/, 'a folder is not given to GDAL');
  });

  test('a garbled HTTP request does not stop the server', async () => {
    await new Promise<void>((resolve) => {
      const { port } = new URL(server.url);
      const s = connect(Number(port), '127.0.0.1', () => s.end('GARBAGE \x00\x01 nonsense\r\n\r\n'));
      s.on('data', () => {}).on('close', () => resolve()).on('error', () => resolve());
    });
    await stillServing();
  });

  test('a download cut midway closes the file, and the server goes on', { skip: !existsSync('/proc/self/fd') && 'needs /proc/self/fd' }, async () => {
    // far more than socket buffers hold: the server is still reading the file when the client leaves
    const big = join(root, 'big.bin');
    writeFileSync(big, Buffer.alloc(32 << 20, 7));
    const real = realpathSync(big);
    /** Descriptors of this process (the server runs in it) open on big.bin. */
    const openOnBig = () => readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === real;
      } catch {
        return false;
      }
    }).length;
    try {
      const midway = await new Promise<number>((resolve, reject) => {
        const { hostname, port } = new URL(server.url);
        const req = request({ hostname, port, path: '/files/0/big.bin' }, (res) => {
          res.once('data', () => {
            res.pause();
            const open = openOnBig();
            req.destroy();
            resolve(open);
          });
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(midway, 1, 'the file is open while it is sent');
      for (let i = 0; i < 250 && openOnBig() > 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(openOnBig(), 0, 'the server closed the file when the client left');
      await stillServing();
    } finally {
      rmSync(big, { force: true });
    }
  });

  test('a Host header other than 127.0.0.1, localhost or [::1] gets 421 (DNS rebinding)', async () => {
    const { port } = new URL(server.url);
    for (const host of ['evil.example', `evil.example:${port}`, '127.0.0.1.evil.example', 'localhost.evil.example:80']) {
      for (const path of ['/api/runs', '/files/0/data.bin']) {
        const a = await get(server.url, path, { Host: host });
        assert.equal(a.status, 421, `${host} ${path}`);
        assert.equal(typeof json(a).error, 'string');
      }
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', `[::1]:${port}`]) {
      assert.equal((await get(server.url, '/api/runs', { Host: host })).status, 200, host);
    }
  });

  test("'error' events after listening are logged, not fatal", async () => {
    const logged: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => { logged.push(String(chunk)); return true; }) as typeof process.stderr.write;
    try {
      server.server.emit('error', new Error('first runtime error'));
      server.server.emit('error', new Error('second runtime error'));
    } finally {
      process.stderr.write = write;
    }
    assert.equal(logged.length, 2);
    assert.match(logged[1], /second runtime error/);
    await stillServing();
  });

  test('runs: nothing read through a symlink out of the root; an unreadable run is listed as such, the others still', async () => {
    const bad = join(dir, 'bad-root');
    const step = line({ type: 'train', step: 1, loss: 1, lr: 0.001 });
    writeFileSync(join(dir, 'secret', 'doc.json'), JSON.stringify({ title: SECRET, model: { arch: SECRET } }));
    writeRun(join(bad, 'ok'), step);
    writeRun(join(bad, 'leak'), step);
    rmSync(join(bad, 'leak', 'config.json'));
    symlinkSync(join(dir, 'secret', 'doc.json'), join(bad, 'leak', 'config.json'));
    mkdirSync(join(bad, 'm'));
    symlinkSync(join(dir, 'secret', 'doc.json'), join(bad, 'm', 'map.json'));
    writeRun(join(bad, 'broken'), step);
    rmSync(join(bad, 'broken', 'log.jsonl'));
    mkdirSync(join(bad, 'broken', 'log.jsonl'));
    const s = await serve({ roots: [bad], port: 0 });
    try {
      const a = await get(s.url, '/api/runs');
      assert.equal(a.status, 200, String(a.body));
      assert.ok(!a.body.toString().includes(SECRET), 'nothing read from outside the root');
      const { runs, maps } = json(a);
      assert.deepEqual(Object.fromEntries(runs.map((r: { id: string; status: string }) => [r.id, r.status])), { broken: 'unreadable', leak: 'running', ok: 'running' });
      assert.equal(runs.find((r: { id: string }) => r.id === 'leak').config, null);
      assert.deepEqual(maps, [], 'a map.json linked out of the root is not listed');
      const leak = await get(s.url, '/api/runs/leak');
      assert.equal(leak.status, 200);
      assert.ok(!leak.body.toString().includes(SECRET));
      const broken = await get(s.url, '/api/runs/broken');
      assert.equal(broken.status, 422);
      assert.match(json(broken).error, /broken/);
      assert.equal((await get(s.url, '/api/maps')).body.toString().includes(SECRET), false);
    } finally {
      await s.close();
    }
  });

  test('the web app: 503 with a hint when it is not built', async () => {
    const a = await get(server.url, '/');
    assert.equal(a.status, 503);
    assert.match(json(a).error, /build:web/);
  });

  test('several roots: run ids and file URLs start with the root index', async () => {
    const two = await serve({ roots: [root, other], port: 0 });
    try {
      const ids = json(await get(two.url, '/api/runs')).runs.map((r: { id: string }) => r.id).sort();
      assert.deepEqual(ids, ['0/b', '0/c', '0/deep/er/d', '0/exp/a', '0/killed', '0/quiet', '0/remote', '1/z']);
      assert.equal(json(await get(two.url, `/api/runs/${encodeURIComponent('1/z')}`)).status, 'running');
      assert.equal((await get(two.url, '/api/runs/2/z')).status, 404);
      assert.equal((await get(two.url, '/files/1/z/config.json')).status, 200);
      assert.equal((await get(two.url, '/files/1/../root/data.bin')).status, 403);
    } finally {
      await two.close();
    }
  });
});

test('geoseg serve (CLI): prints its URL as one JSON object, stops on SIGINT; bad roots are one-line errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoseg-serve-cli-'));
  const main = join(here, '..', 'src', 'cli', 'main.ts');
  const run = (args: string[]) => spawn(process.execPath, ['--import', 'tsx', main, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const finish = (child: ReturnType<typeof run>) => new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    let out = '', err = '';
    child.stdout!.on('data', (d) => { out += d; });
    child.stderr!.on('data', (d) => { err += d; });
    child.on('close', (code) => resolve({ code, out, err }));
  });
  try {
    const bad = await finish(run([join(dir, 'missing')]));
    assert.equal(bad.code, 1);
    assert.equal(bad.err, `geoseg: ${join(dir, 'missing')}: no such folder\n`);
    const badPort = await finish(run([dir, '--port', 'x']));
    assert.equal(badPort.code, 2);
    assert.match(badPort.err, /^geoseg: --port must be a port number/);

    const child = run([dir, '--port', '0', '--json']);
    const done = finish(child);
    const first = await new Promise<string>((resolve) => child.stdout!.once('data', (d) => resolve(String(d))));
    const { url, roots } = JSON.parse(first);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(roots.length, 1);
    assert.equal((await get(url, '/api/runs')).status, 200);
    child.kill('SIGINT');
    const r = await done;
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim().split('\n').length, 1, 'exactly one JSON object on stdout');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
