// Pairing scene images with their label files by relative path, extension ignored
// (images/a/b.jpg ↔ labels/a/b.png).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { GeosegError } from '../errors.js';

const RASTER_EXTENSIONS = new Set(['.tif', '.tiff', '.jpg', '.jpeg', '.png', '.jp2', '.img', '.vrt', '.bmp', '.gif']);

function listRasters(root: string): string[] {
  if (!existsSync(root)) throw new GeosegError(`${root}: no such file or folder`);
  if (statSync(root).isFile()) return [root];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (RASTER_EXTENSIONS.has(extname(name).toLowerCase())) out.push(p);
    }
  };
  walk(root);
  return out;
}

const key = (root: string, file: string) => {
  const rel = statSync(root).isFile() ? file.slice(file.lastIndexOf('/') + 1) : relative(root, file);
  return rel.slice(0, rel.length - extname(rel).length);
};

export interface ScenePair {
  id: string;
  image: string;
  label: string;
}

export function pairScenes(images: string, labels: string): ScenePair[] {
  const imageFiles = listRasters(images);
  if (imageFiles.length === 0) throw new GeosegError(`${images}: no raster images found (looked for ${[...RASTER_EXTENSIONS].join(' ')})`);
  const labelByKey = new Map<string, string>();
  for (const f of listRasters(labels)) {
    const k = key(labels, f);
    if (labelByKey.has(k)) throw new GeosegError(`${f}: two label files for ${k} (${labelByKey.get(k)} too)`);
    labelByKey.set(k, f);
  }
  return imageFiles.map((image) => {
    const id = key(images, image);
    const label = labelByKey.get(id);
    if (!label) throw new GeosegError(`${image}: no label file for it (expected ${join(labels, id)}.<ext>)`);
    return { id, image, label };
  });
}
