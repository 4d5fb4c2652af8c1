// Which files the server may hand out: only those under the configured roots. A request names a
// file as /files/<root index>/<relative path>; '..' segments, absolute paths and symlinks that
// lead out of the root are refused. The check that counts is on the real path (symlinks resolved).
import { realpathSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { GeosegError } from '../errors.js';
import { HttpError } from './http-error.js';

/** The real paths of the roots, in order (their index is the first part of a file URL). */
export function resolveRoots(dirs: string[]): string[] {
  if (dirs.length === 0) throw new GeosegError('no folder to serve');
  return dirs.map((d) => {
    let real: string;
    try {
      real = realpathSync(resolve(d));
    } catch {
      throw new GeosegError(`${d}: no such folder`);
    }
    if (!statSync(real).isDirectory()) throw new GeosegError(`${d}: not a folder`);
    return real;
  });
}

/** True when `path` is `root` or inside it (both absolute, normalized). */
export function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** The segments of a relative path given by a client (already percent-decoded), or a 4xx. */
export function relativeSegments(rel: string): string[] {
  if (rel.includes('\0')) throw new HttpError(400, 'bad path');
  if (/^([/\\]|[A-Za-z]:)/.test(rel)) throw new HttpError(403, 'absolute paths are refused');
  const segments = rel.split(/[/\\]/).filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw new HttpError(403, "'..' in paths is refused");
  return segments;
}

/** The real path of `rel` under `root`: 404 when missing, 403 when a symlink leads out of the root. */
export function resolveInRoot(root: string, rel: string): string {
  const joined = join(root, ...relativeSegments(rel));
  let real: string;
  try {
    real = realpathSync(joined);
  } catch {
    throw new HttpError(404, `not found: ${rel}`);
  }
  if (!isInside(root, real)) throw new HttpError(403, `outside the served folders: ${rel}`);
  return real;
}

/** A file's URL path (/files/<root>/<rel>), each segment percent-encoded. */
export function fileUrl(rootIndex: number, rel: string): string {
  return `/files/${rootIndex}/${rel.split(sep).filter(Boolean).map(encodeURIComponent).join('/')}`;
}

/** A file URL's root index and decoded relative path (the part after /files/), or a 4xx. */
export function parseFileUrl(path: string, rootCount: number): { rootIndex: number; rel: string } {
  const m = /^\/files\/(\d+)(?:\/(.*))?$/s.exec(path);
  if (!m) throw new HttpError(400, `not a file URL: ${path.slice(0, 200)} (expected /files/<root>/<path>)`);
  const rootIndex = Number(m[1]);
  if (rootIndex >= rootCount) throw new HttpError(404, `no root ${m[1]} (there are ${rootCount})`);
  let rel: string;
  try {
    rel = (m[2] ?? '').split('/').map(decodeURIComponent).join('/');
  } catch {
    throw new HttpError(400, 'malformed percent-encoding in path');
  }
  return { rootIndex, rel };
}

/** A file URL's real path on disk, checked. */
export function resolveFileUrl(roots: string[], path: string): string {
  const { rootIndex, rel } = parseFileUrl(path, roots.length);
  return resolveInRoot(roots[rootIndex], rel);
}

/** The URL of an absolute path known to be under root `rootIndex`. */
export function urlOf(roots: string[], rootIndex: number, abs: string): string {
  return fileUrl(rootIndex, relative(roots[rootIndex], abs));
}
