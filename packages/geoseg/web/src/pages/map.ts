// #/map?manifest=<map.json URL>  or  #/map?image=..&prediction=..&truth=..&confidence=.. (any subset):
// imagery with prediction and truth over it, layer toggles, opacity, a swipe line (prediction
// left, truth right), a legend, and a pixel inspector reading the class rasters' values.
import OlMap from 'ol/Map.js';
import View from 'ol/View.js';
import type WebGLTileLayer from 'ol/layer/WebGLTile.js';
import type GeoTIFF from 'ol/source/GeoTIFF.js';
import { api, getJson, type ClassInfo, type MapManifest, type RasterDescription } from '../api.ts';
import { h, rgb } from '../dom.ts';
import { alignToGrid, classLayer, confidenceLayer, imageLayer } from '../map/layers.ts';
import { pixelInspector } from '../map/inspector.ts';
import { pixelSize, projectionOf } from '../map/projection.ts';
import { clipToSide } from '../map/swipe.ts';

const KINDS = ['image', 'prediction', 'truth', 'confidence'] as const;
type Kind = (typeof KINDS)[number];
/** Bottom to top. */
const DRAW_ORDER: Kind[] = ['image', 'confidence', 'truth', 'prediction'];

interface MapSpec {
  title: string;
  classes: ClassInfo[] | null;
  ignoreIndex: number | null;
  /** Absolute URL of each layer given. */
  urls: Partial<Record<Kind, string>>;
}

const FALLBACK: [number, number, number][] = [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189], [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207]];

async function readSpec(params: URLSearchParams): Promise<MapSpec> {
  const manifestUrl = params.get('manifest');
  if (manifestUrl) {
    const base = new URL(manifestUrl, location.href);
    const m = await getJson<MapManifest>(base.href);
    const urls: MapSpec['urls'] = {};
    for (const k of KINDS) if (m.layers?.[k]) urls[k] = new URL(m.layers[k]!, base).href;
    return { title: m.title ?? decodeURIComponent(base.pathname), classes: m.classes ?? null, ignoreIndex: m.ignoreIndex ?? null, urls };
  }
  const urls: MapSpec['urls'] = {};
  for (const k of KINDS) if (params.get(k)) urls[k] = new URL(params.get(k)!, location.href).href;
  if (Object.keys(urls).length === 0) throw new Error('a map needs ?manifest=<map.json URL> or at least one of image, prediction, truth, confidence');
  const name = (urls.prediction ?? urls.image ?? Object.values(urls)[0])!;
  return { title: decodeURIComponent(new URL(name).pathname.split('/').pop() ?? 'map'), classes: null, ignoreIndex: null, urls };
}

/** Classes from the manifest, else from a class raster's metadata or palette, else numbered. */
function classesFor(spec: MapSpec, infos: Partial<Record<Kind, RasterDescription>>): ClassInfo[] {
  if (spec.classes?.length) return spec.classes;
  const raster = infos.prediction ?? infos.truth;
  if (raster?.classes?.length) return raster.classes;
  const table = raster?.colorTable?.slice(0, 32) ?? [];
  while (table.length > 0 && table.at(-1)!.every((v) => v === 0)) table.pop();
  if (table.length > 0) return table.map((c, i) => ({ id: i, name: `class ${i}`, color: [c[0], c[1], c[2]] }));
  return FALLBACK.map((color, i) => ({ id: i, name: `class ${i}`, color }));
}

function legend(classes: ClassInfo[]): HTMLElement {
  return h('ul', { class: 'legend', 'data-testid': 'legend' },
    ...classes.map((c) => h('li', {}, h('span', { class: 'swatch', style: `background:${rgb(c.color)}` }), c.name)));
}

function slider(label: string, testid: string, value: number, onInput: (v: number) => void): HTMLElement {
  const input = h('input', { type: 'range', min: 0, max: 100, value, 'data-testid': testid });
  input.addEventListener('input', () => onInput(Number(input.value)));
  return h('label', { class: 'slider' }, label, input);
}

export async function mapPage(root: HTMLElement, params: URLSearchParams): Promise<() => void> {
  const spec = await readSpec(params);
  // What the server reads of each raster (grid, CRS, palette); a layer that fails is reported, the rest shown.
  const infos: Partial<Record<Kind, RasterDescription>> = {};
  const problems: string[] = [];
  await Promise.all(Object.entries(spec.urls).map(async ([k, url]) => {
    try {
      infos[k as Kind] = await api.raster(new URL(url).pathname);
    } catch (e) {
      problems.push(`${k}: ${(e as Error).message}`);
    }
  }));
  const reference = infos.image ?? infos.prediction ?? infos.truth ?? infos.confidence;
  if (!reference) throw new Error(`no layer could be read (${problems.join('; ')})`);
  const classes = classesFor(spec, infos);
  const ignore = spec.ignoreIndex ?? 255;
  const projection = projectionOf(reference);

  const layers: Partial<Record<Kind, WebGLTileLayer>> = {};
  if (infos.image) layers.image = imageLayer(spec.urls.image!, infos.image, projection);
  if (infos.confidence) layers.confidence = confidenceLayer(spec.urls.confidence!, projection);
  if (infos.truth) layers.truth = classLayer(spec.urls.truth!, classes, projection);
  if (infos.prediction) layers.prediction = classLayer(spec.urls.prediction!, classes, projection);
  for (const k of KINDS) if (layers[k]) alignToGrid(layers[k]!, infos[k]!, reference);

  // Hidden layers keep rendering at opacity 0: the inspector reads their loaded tiles.
  const shown: Record<Kind, boolean> = { image: true, prediction: true, truth: true, confidence: false };
  let opacity = 0.7, swipe = 0.5;
  const swiping = () => Boolean(layers.prediction && layers.truth && shown.prediction && shown.truth);
  if (layers.prediction) clipToSide(layers.prediction, 'left', () => (swiping() ? swipe : null));
  if (layers.truth) clipToSide(layers.truth, 'right', () => (swiping() ? swipe : null));

  const mapEl = h('div', { class: 'map', 'data-testid': 'map', 'data-renders': 0 });
  const swipeLine = h('div', { class: 'swipe-line' });
  mapEl.append(swipeLine);
  const inspectorBox = h('div');
  const swipeSlider = layers.prediction && layers.truth ? slider('swipe: prediction ◀ ▶ truth', 'swipe', swipe * 100, (v) => { swipe = v / 100; update(); }) : null;
  const controls = h('aside', { class: 'controls' },
    h('h1', { 'data-testid': 'map-title' }, spec.title),
    problems.length ? h('p', { class: 'error' }, ...problems.map((p) => h('div', {}, p))) : null,
    h('h2', {}, 'Layers'),
    ...KINDS.filter((k) => layers[k]).map((k) => {
      const box = h('input', { type: 'checkbox', checked: shown[k], 'data-testid': `layer-${k}` });
      box.addEventListener('change', () => { shown[k] = box.checked; update(); });
      return h('label', { class: 'check' }, box, k === 'image' ? 'imagery' : k);
    }),
    slider('opacity of classes', 'opacity', opacity * 100, (v) => { opacity = v / 100; update(); }),
    swipeSlider,
    h('h2', {}, 'Classes'), legend(classes),
    h('h2', {}, 'Pixel'), inspectorBox,
  );
  root.replaceChildren(h('div', { class: 'map-page' }, controls, mapEl));

  const size = pixelSize(reference);
  const map = new OlMap({
    target: mapEl,
    layers: DRAW_ORDER.map((k) => layers[k]).filter((l): l is WebGLTileLayer => Boolean(l)),
    view: new View({ projection, minResolution: size / 16, maxResolution: size * Math.max(reference.width, reference.height) / 64 }),
  });
  map.getView().fit(reference.extent, { padding: [16, 16, 16, 16] });
  // OpenLayers calls a frame complete even while a source still reads its GeoTIFF header; count
  // (for tests, in data-renders) only frames drawn with every source read.
  const sources = Object.values(layers).map((l) => l.getSource()!);
  let renders = 0;
  map.on('rendercomplete', () => {
    if (sources.every((s) => s.getState() === 'ready' || s.getState() === 'error')) mapEl.dataset.renders = String(++renders);
  });
  for (const [k, l] of Object.entries(layers)) {
    const source = l.getSource()!;
    let reported = false; // 'change' fires again after the error: say it once
    source.on('change', () => {
      if (source.getState() !== 'error' || reported) return;
      reported = true;
      controls.append(h('p', { class: 'error' }, `${k}: cannot read the raster (${(source as GeoTIFF).getError()?.message ?? 'unknown error'})`));
    });
  }
  inspectorBox.replaceChildren(pixelInspector(map, layers, reference, classes, ignore));
  (window as unknown as { geoseg: unknown }).geoseg = { map, layers }; // for tests and the console

  function update(): void {
    for (const k of KINDS) layers[k]?.setOpacity(!shown[k] ? 0 : k === 'prediction' || k === 'truth' ? opacity : 1);
    swipeLine.style.display = swiping() ? 'block' : 'none';
    swipeLine.style.left = `${swipe * 100}%`;
    const swipeInput = swipeSlider?.querySelector('input');
    if (swipeInput) swipeInput.disabled = !swiping(); // the line does nothing without both layers shown
    map.render();
  }
  update();

  return () => {
    map.setTarget(undefined);
    map.dispose();
    for (const l of Object.values(layers)) l.dispose();
  };
}
