// Pairing scene images with their label files by relative path, extension ignored
// (images/a/b.jpg ↔ labels/a/b.png). Inputs are a file, a folder (searched recursively) or a
// glob ('scenes/**/*.tif'); with a glob, paths are relative to the part before the first
// wildcard. One vector file (GeoPackage of polygons, say) may label every scene.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { GeosegError } from '../errors.js';

export const RASTER_EXTENSIONS = new Set(['.tif', '.tiff', '.jpg', '.jpeg', '.png', '.jp2', '.img', '.vrt', '.bmp', '.gif']);
export const VECTOR_EXTENSIONS = new Set(['.geojson', '.json', '.gpkg', '.shp']);

export const isVector = (path: string): boolean => VECTOR_EXTENSIONS.has(extname(path).toLowerCase());
const hasWildcard = (s: string): boolean => /[*?[]/.test(s);

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
}

/** A glob as a regular expression over '/'-separated paths: ** any folders, * and ? within a name. */
export function globRegex(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i);
      if (end < 0) throw new GeosegError(`${glob}: unclosed [ in the pattern`);
      re += glob.slice(i, end + 1);
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export interface InputFiles {
  /** Folder the pairing keys are relative to (the file's folder for a single file). */
  base: string;
  files: string[];
}

/** Files of an input given as a file, a folder or a glob, filtered by extension. */
export function listInput(input: string, extensions: Set<string>): InputFiles {
  const keep = (f: string) => extensions.has(extname(f).toLowerCase());
  if (hasWildcard(input)) {
    const parts = input.split('/');
    const first = parts.findIndex(hasWildcard);
    const base = parts.slice(0, first).join('/') || '.';
    if (!existsSync(base)) throw new GeosegError(`${input}: folder ${base} does not exist`);
    const re = globRegex(parts.slice(first).join('/'));
    const all: string[] = [];
    walk(base, all);
    // A file matches when its path does, or one of its folders does ('images/tile_[1-7]').
    const matches = (rel: string) => rel.split('/').some((_, i, parts) => re.test(parts.slice(0, i + 1).join('/')));
    return { base, files: all.filter((f) => matches(relative(base, f).split(sep).join('/')) && keep(f)) };
  }
  if (!existsSync(input)) throw new GeosegError(`${input}: no such file or folder`);
  if (statSync(input).isFile()) return { base: input.slice(0, Math.max(0, input.lastIndexOf('/'))) || '.', files: [input] };
  const all: string[] = [];
  walk(input, all);
  return { base: input, files: all.filter(keep) };
}

const keyOf = (base: string, file: string) => {
  const rel = relative(base, file).split(sep).join('/');
  return rel.slice(0, rel.length - extname(rel).length);
};

export interface ScenePair {
  id: string;
  image: string;
  label: string;
}

export function pairScenes(images: string, labels: string): ScenePair[] {
  const imageInput = listInput(images, RASTER_EXTENSIONS);
  if (imageInput.files.length === 0) throw new GeosegError(`${images}: no raster images found (looked for ${[...RASTER_EXTENSIONS].join(' ')})`);
  const labelInput = listInput(labels, new Set([...RASTER_EXTENSIONS, ...VECTOR_EXTENSIONS]));
  // One vector file labels every scene.
  if (labelInput.files.length === 1 && isVector(labelInput.files[0]) && !hasWildcard(labels) && statSync(labels).isFile()) {
    return imageInput.files.map((image) => ({ id: keyOf(imageInput.base, image), image, label: labelInput.files[0] }));
  }
  const labelByKey = new Map<string, string>();
  for (const f of labelInput.files) {
    const k = keyOf(labelInput.base, f);
    if (labelByKey.has(k)) throw new GeosegError(`${f}: two label files for ${k} (${labelByKey.get(k)} too)`);
    labelByKey.set(k, f);
  }
  const single = imageInput.files.length === 1 && labelInput.files.length === 1;
  return imageInput.files.map((image) => {
    const id = keyOf(imageInput.base, image);
    // A single image with a single label pairs whatever their names.
    const label = single ? labelInput.files[0] : labelByKey.get(id);
    if (!label) throw new GeosegError(`${image}: no label file for it (expected ${join(labelInput.base, id)}.<ext>)`);
    return { id, image, label };
  });
}
