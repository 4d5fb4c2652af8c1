// map.json: a map the viewer (geoseg serve) opens as one view. `geoseg eval --maps` and
// `geoseg predict --map` write it; server/ lists it and web/ reads it, all with this one type.
import { join } from 'node:path';
import { writeFileDurable } from './durable.js';

export const MAP_MANIFEST_FILE = 'map.json';

export interface MapClass {
  id: number;
  name: string;
  color: [number, number, number];
}

export interface MapManifest {
  title: string;
  classes: MapClass[];
  /** The class value of pixels without a class (ignored truth, nodata predictions). */
  ignoreIndex: number;
  /** Rasters (COGs) by role, as paths relative to the map.json's folder; null when absent. */
  layers: { image: string | null; prediction: string | null; truth: string | null; confidence: string | null };
}

/** `dir`/map.json, written durably (never half-written). */
export function writeMapManifest(dir: string, manifest: MapManifest): string {
  const file = join(dir, MAP_MANIFEST_FILE);
  writeFileDurable(file, JSON.stringify(manifest, null, 1));
  return file;
}
