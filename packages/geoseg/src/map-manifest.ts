// map.json: a map the viewer (geoseg serve) opens as one view. `geoseg eval --maps` and
// `geoseg predict --map` write it; server/ lists it and web/ reads it, all with this one type.
import { join } from 'node:path';
import { writeFileDurable } from './durable.js';

export const MAP_MANIFEST_FILE = 'map.json';

/** A map manifest's file name: map.json, or <stem>.map.json (one per scene in a folder of several). */
export const isMapManifest = (name: string) => name === MAP_MANIFEST_FILE || (name.endsWith(`.${MAP_MANIFEST_FILE}`) && name.length > MAP_MANIFEST_FILE.length + 1);

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

/** `dir`/map.json (or another manifest name), written durably (never half-written). */
export function writeMapManifest(dir: string, manifest: MapManifest, name = MAP_MANIFEST_FILE): string {
  const file = join(dir, name);
  writeFileDurable(file, JSON.stringify(manifest, null, 1));
  return file;
}
