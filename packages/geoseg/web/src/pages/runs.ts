// #/ : every run under the roots (config, status, best metrics) and the maps outside runs.
import { api, mapHref, type RunSummary } from '../api.ts';
import { h } from '../dom.ts';
import { ago, duration, num, pct } from '../format.ts';

/** The few config fields that tell runs apart. */
export function configSummary(config: Record<string, any> | null): { model: string; loss: string; optimizer: string; budget: string; data: string } {
  const c = config ?? {};
  const sched = c.scheduler?.name && c.scheduler.name !== 'none' ? `, ${c.scheduler.name}` : '';
  const t = c.train ?? {};
  const budget = [t.iterations ? `${t.iterations} it` : null, t.minutes ? `${t.minutes} min` : null].filter(Boolean).join(' / ') || '–';
  const dataset = typeof c.data?.dataset === 'string' ? c.data.dataset.split(/[/\\]/).filter(Boolean).pop() : null;
  return {
    model: [c.model?.arch, c.model?.encoder].filter(Boolean).join(' / ') || '–',
    // a run config without `loss` trains with its architecture's default loss
    loss: typeof c.loss === 'string' ? c.loss : c.loss ? JSON.stringify(c.loss) : c.model ? 'architecture default' : '–',
    optimizer: c.optimizer ? `${c.optimizer.name ?? '?'} lr ${num(c.optimizer.lr, 6)}${sched}` : '–',
    budget,
    data: [dataset, c.data?.crop ? `crop ${c.data.crop}` : null, c.data?.batch ? `batch ${c.data.batch}` : null].filter(Boolean).join(', ') || '–',
  };
}

export function statusBadge(status: string): HTMLElement {
  return h('span', { class: `status status-${status}`, 'data-testid': 'status' }, status);
}

function runRow(r: RunSummary): HTMLElement {
  const c = configSummary(r.config);
  return h('tr', { 'data-run': r.id },
    h('td', {}, h('a', { href: `#/runs/${encodeURIComponent(r.id)}` }, r.id)),
    h('td', {}, statusBadge(r.status)),
    h('td', {}, c.model), h('td', {}, c.loss), h('td', {}, c.optimizer), h('td', {}, c.data), h('td', {}, c.budget),
    h('td', { class: 'num' }, r.step ?? '–'),
    h('td', { class: 'num' }, duration(r.elapsedSeconds)),
    h('td', { class: 'num', 'data-testid': 'best' }, r.best ? `${pct(r.best.value)} @${r.best.step}` : '–'),
    h('td', { class: 'num' }, r.lastEval ? pct(r.lastEval.mIoU) : '–'),
    h('td', {}, ago(r.updated)),
  );
}

export async function runsPage(root: HTMLElement): Promise<void> {
  const { runs, maps } = await api.runs();
  const header = ['run', 'status', 'model', 'loss', 'optimizer', 'data', 'budget', 'step', 'time', 'best mIoU %', 'last mIoU %', 'updated'];
  root.replaceChildren(
    h('h1', {}, 'Runs'),
    runs.length === 0
      ? h('p', { class: 'muted' }, 'No runs here (a run is a folder with config.json and log.jsonl).')
      : h('div', { class: 'table-scroll' }, h('table', { class: 'grid', 'data-testid': 'runs' },
        h('thead', {}, h('tr', {}, ...header.map((t) => h('th', {}, t)))),
        h('tbody', {}, ...runs.map(runRow)))),
  );
  if (maps.length > 0) {
    root.append(h('h2', {}, 'Other maps'),
      h('ul', { class: 'maps', 'data-testid': 'maps' }, ...maps.map((m) => h('li', {}, h('a', { href: mapHref(m.manifest) }, m.title)))));
  }
}
