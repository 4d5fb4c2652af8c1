// The viewer's HTTP server: a JSON API over the runs and maps under the roots, the files under
// the roots (with Range requests, so COG readers stream), and the built web app at /.
// Every failure of a request becomes a 4xx/5xx answer for that request only.
import { constants, realpathSync, type ReadStream, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GeosegError } from '../errors.js';
import { HttpError } from './http-error.js';
import { resolveFileUrl, resolveInRoot, resolveRoots } from './paths.js';
import { parseRange, type ByteRange } from './ranges.js';
import { describeRaster } from './rasters.js';
import { listMaps, listRuns, runDetail } from './runs.js';

export interface ServeOptions {
  /** Folders to serve (runs, maps, rasters). */
  roots: string[];
  /** Default 127.0.0.1 (this machine only). */
  host?: string;
  /** Default 8321; 0 picks a free port. */
  port?: number;
  /** The built web app (default: web/dist of this package). */
  webDir?: string;
}

export interface RunningServer {
  url: string;
  roots: string[];
  server: Server;
  close(): Promise<void>;
}

const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8', '.geojson': 'application/geo+json', '.svg': 'image/svg+xml',
  '.tif': 'image/tiff', '.tiff': 'image/tiff', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg',
  '.txt': 'text/plain; charset=utf-8', '.jsonl': 'text/plain; charset=utf-8', '.yaml': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm', '.map': 'application/json',
};

/** Host names a browser on this machine uses for a loopback server. */
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function serve(opts: ServeOptions): Promise<RunningServer> {
  const roots = resolveRoots(opts.roots);
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8321;
  const webDir = opts.webDir ?? DEFAULT_WEB_DIR;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  // On loopback, a page from elsewhere can still reach the server through a DNS name rebound to
  // 127.0.0.1 (DNS rebinding); its requests carry that name in Host, so only our own names pass.
  const allowedHosts = isLoopback(host) ? new Set([...LOOPBACK_NAMES, shownHost.toLowerCase()]) : null;
  const server = createServer((req, res) => {
    if (allowedHosts && !allowedHosts.has(hostName(req.headers.host))) {
      fail(res, new HttpError(421, `unexpected Host header (use ${shownHost} or localhost)`));
      return;
    }
    handle(req, res, roots, webDir).catch((e) => fail(res, e));
  });
  await new Promise<void>((resolve, reject) => {
    const onListenError = (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE'
      ? new GeosegError(`port ${port} on ${host} is in use (pick another with --port)`)
      : new GeosegError(`cannot listen on ${host}:${port} (${e.message})`));
    server.once('error', onListenError);
    server.listen(port, host, () => {
      server.off('error', onListenError);
      resolve();
    });
  });
  // An 'error' event without a listener would crash the process: report later ones and go on.
  server.on('error', (e) => process.stderr.write(`geoseg serve: ${e.message}\n`));
  if (!allowedHosts) process.stderr.write(`geoseg serve: warning: listening on ${host} without authentication: whoever reaches it can read every file under the roots\n`);
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${shownHost}:${bound}/`,
    roots,
    server,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, roots: string[], webDir: string): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'only GET and HEAD');
  // The raw path, not a WHATWG-normalized one: '..' must reach the checks, not be folded away.
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));

  if (path === '/api/runs') return sendJson(res, { runs: listRuns(roots), maps: listMaps(roots).filter((m) => m.run === null) });
  if (path === '/api/maps') return sendJson(res, { maps: listMaps(roots) });
  if (path.startsWith('/api/runs/')) return sendJson(res, runDetail(roots, decode(path.slice('/api/runs/'.length))));
  if (path === '/api/raster') {
    const url = query.get('path');
    if (!url) throw new HttpError(400, 'give the raster as ?path=/files/<root>/<path>');
    return sendJson(res, await describeRaster(resolveFileUrl(roots, url), url));
  }
  if (path.startsWith('/api/')) throw new HttpError(404, `unknown API path: ${path.slice(0, 200)}`);
  if (path === '/files' || path.startsWith('/files/')) return sendFile(req, res, resolveFileUrl(roots, path), true);
  return sendWebFile(req, res, webDir, path);
}

/** The host name of a Host header, lowercased ('[::1]' keeps its brackets); '' when missing or malformed. */
function hostName(header: string | undefined): string {
  try {
    return new URL(`http://${header}`).hostname;
  } catch {
    return '';
  }
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, 'malformed percent-encoding in path');
  }
}

async function sendWebFile(req: IncomingMessage, res: ServerResponse, webDir: string, path: string): Promise<void> {
  let file: string;
  try {
    file = resolveInRoot(realWebDir(webDir), decode(path === '/' ? '/index.html' : path).replace(/^\/+/, ''));
  } catch (e) {
    if (path === '/' && e instanceof HttpError && e.status === 404) {
      throw new HttpError(503, 'the web app is not built: run `npm run build:web --workspace geoseg` (or scripts/setup.sh)');
    }
    throw e;
  }
  return sendFile(req, res, file, false);
}

/** The web app folder with symlinks resolved (it may be built after the server started). */
function realWebDir(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}

/**
 * The file is opened once and its size taken from that open file, so a file replaced meanwhile
 * cannot make Content-Length disagree with the bytes sent. The handle is closed on every path.
 */
async function sendFile(req: IncomingMessage, res: ServerResponse, file: string, userFile: boolean): Promise<void> {
  // Listen before the first await: the client may leave while the file is being opened.
  let gone = false, stream: ReadStream | null = null;
  res.once('close', () => {
    gone = true;
    stream?.destroy(); // stop reading; the stream closes the handle
  });
  let fh: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO must not hang (regular files ignore the flag)
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    throw new HttpError(404, 'not found');
  }
  let stats: Stats, range: ByteRange | null;
  try {
    stats = await fh.stat();
    if (!stats.isFile()) throw new HttpError(404, 'not a file');
    range = parseRange(req.headers.range, stats.size);
  } catch (e) {
    await fh.close();
    throw e;
  }
  let type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  // Files from the roots are data: never let one run as a page of this origin.
  if (userFile && type.startsWith('text/html')) type = 'text/plain; charset=utf-8';
  const headers: Record<string, string | number> = {
    'Content-Type': type, 'Accept-Ranges': 'bytes', 'Last-Modified': stats.mtime.toUTCString(),
    'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff',
  };
  const [start, end] = range ? [range.start, range.end] : [0, stats.size - 1];
  const length = Math.max(0, end - start + 1);
  if (userFile) headers['Content-Security-Policy'] = 'sandbox'; // nor as a document that runs scripts (SVG)
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${stats.size}`;
  headers['Content-Length'] = length;
  res.writeHead(range ? 206 : 200, headers);
  if (gone || req.method === 'HEAD' || length === 0) {
    res.end();
    await fh.close();
    return;
  }
  stream = fh.createReadStream({ start, end }); // autoClose: closes the handle when it ends, fails or is destroyed
  stream.on('error', () => res.destroy()); // headers are out: cutting the connection is the only signal left
  // A file truncated while it is read ends short of Content-Length: cut the connection so the client knows.
  stream.on('end', () => (stream!.bytesRead === length ? res.end() : res.destroy()));
  stream.pipe(res, { end: false });
}

function sendJson(res: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function fail(res: ServerResponse, e: unknown): void {
  const known = e instanceof HttpError;
  if (!known) process.stderr.write(`geoseg serve: ${(e as Error)?.stack ?? e}\n`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: known ? e.message : `internal error: ${(e as Error)?.message ?? e}` });
  res.writeHead(known ? e.status : 500, { ...(known ? e.headers : {}), 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
