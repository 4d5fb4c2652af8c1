// Hash router: #/ runs, #/runs/<id> one run, #/map?... a map. Each page renders into #app and
// may return a cleanup function (the map page releases its OpenLayers map).
import 'ol/ol.css';
import './style.css';
import { h } from './dom.ts';
import { runsPage } from './pages/runs.ts';
import { runPage } from './pages/run.ts';
import { mapPage } from './pages/map.ts';

type Page = (root: HTMLElement) => Promise<(() => void) | void>;

const app = document.getElementById('app')!;
let cleanup: (() => void) | void;
let generation = 0;

function route(hash: string): Page {
  const [path, query = ''] = hash.replace(/^#/, '').split('?');
  if (path === '/map') return (root) => mapPage(root, new URLSearchParams(query));
  const run = /^\/runs\/(.+)$/.exec(path);
  if (run) return (root) => runPage(root, decodeURIComponent(run[1]));
  return runsPage;
}

async function render(): Promise<void> {
  const mine = ++generation;
  if (cleanup) cleanup();
  cleanup = undefined;
  // Pages draw into an attached element (the map measures its size), replacing this text.
  const root = h('div', { class: 'page' }, h('p', { class: 'muted' }, 'loading…'));
  app.replaceChildren(root);
  try {
    const done = await route(location.hash || '#/')(root);
    if (mine === generation) cleanup = done;
    else if (done) done(); // the user moved on while this page loaded
  } catch (e) {
    if (mine === generation) root.replaceChildren(h('p', { class: 'error', 'data-testid': 'error' }, (e as Error).message));
  }
}

window.addEventListener('hashchange', render);
void render();
