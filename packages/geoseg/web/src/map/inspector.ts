// Pixel inspector: under the pointer (hover or click), the raster pixel, the predicted class, the
// confidence and the true class, read from the layers' loaded tiles (WebGL layer getData), so it
// works on both sides of the swipe line and for layers shown at opacity 0.
import type OlMap from 'ol/Map.js';
import type WebGLTileLayer from 'ol/layer/WebGLTile.js';
import type { ClassInfo, RasterDescription } from '../api.ts';
import { h, rgb } from '../dom.ts';
import { pixelAt } from './projection.ts';

export interface InspectedLayers {
  prediction?: WebGLTileLayer;
  truth?: WebGLTileLayer;
  confidence?: WebGLTileLayer;
}

export function pixelInspector(map: OlMap, layers: InspectedLayers, reference: RasterDescription, classes: ClassInfo[], ignoreIndex: number): HTMLElement {
  const el = h('div', { class: 'inspector', 'data-testid': 'inspector' }, h('span', { class: 'muted' }, 'hover or click the map'));
  const valueAt = (layer: WebGLTileLayer | undefined, pixel: number[]): number | null => {
    const d = layer?.getData(pixel);
    return d ? Number((d as ArrayLike<number>)[0]) : null;
  };
  const className = (v: number | null): Node | null => {
    if (v === null) return null;
    const c = classes.find((c) => c.id === v);
    return h('span', {}, h('span', { class: 'swatch', style: c ? `background:${rgb(c.color)}` : '' }), v === ignoreIndex ? 'ignored' : c ? c.name : `id ${v}`);
  };
  const inspect = (pixel: number[]) => {
    const [col, row] = pixelAt(reference, map.getCoordinateFromPixel(pixel));
    if (col < 0 || row < 0 || col >= reference.width || row >= reference.height) {
      el.replaceChildren(h('span', { class: 'muted' }, 'outside the raster'));
      return;
    }
    const confidence = valueAt(layers.confidence, pixel);
    const rows: [string, Node | string | null][] = [
      ['pixel', `${col}, ${row}`],
      ['prediction', className(valueAt(layers.prediction, pixel))],
      ['confidence', confidence === null ? null : `${((100 * confidence) / 255).toFixed(1)} %`],
      ['truth', className(valueAt(layers.truth, pixel))],
    ];
    el.replaceChildren(h('dl', {}, ...rows.filter(([, v]) => v !== null).flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-field': k }, v)])));
  };
  // Tiles may arrive after the pointer stopped: inspect its last position again after each frame.
  let last: number[] | null = null;
  const at = (pixel: number[]) => { last = pixel; inspect(pixel); };
  map.on('pointermove', (e) => { if (!e.dragging) at(e.pixel); });
  map.on('click', (e) => at(e.pixel));
  map.on('rendercomplete', () => { if (last) inspect(last); });
  return el;
}
