// The server's JSON API (src/server/). Types come from the server modules, so both sides agree.
import type { MapEntry, RunDetail, RunSummary, ClassInfo } from '../../src/server/runs.ts';
import type { RasterDescription } from '../../src/server/rasters.ts';

export type { MapEntry, RunDetail, RunSummary, ClassInfo, RasterDescription };

/** What map.json holds (src/map-manifest.ts, written by eval --maps and predict --map). */
export type { MapManifest } from '../../src/map-manifest.ts';

/** GET a JSON document; a non-2xx answer throws with the server's message. */
export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { cache: 'no-store' });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${url}: ${res.status} ${res.statusText}`);
  }
  if (!res.ok) throw new Error((body as { error?: string }).error ?? `${url}: ${res.status}`);
  return body as T;
}

export const api = {
  runs: () => getJson<{ runs: RunSummary[]; maps: MapEntry[] }>('api/runs'),
  run: (id: string) => getJson<RunDetail>(`api/runs/${encodeURIComponent(id)}`),
  raster: (fileUrl: string) => getJson<RasterDescription>(`api/raster?path=${encodeURIComponent(fileUrl)}`),
};

/** Hash link to a map page for a map.json URL. */
export function mapHref(manifest: string): string {
  return `#/map?manifest=${encodeURIComponent(manifest)}`;
}
