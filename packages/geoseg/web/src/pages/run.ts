// #/runs/<id> : learning curves (loss, lr, val mIoU), per-class IoU and confusion matrix of a
// chosen evaluation (the last by default), the config, and links to the run's maps.
import { api, mapHref, type RunDetail } from '../api.ts';
import { confusionMatrix } from '../charts/confusion-matrix.ts';
import { iouBars } from '../charts/iou-bars.ts';
import { lineChart } from '../charts/line-chart.ts';
import { h } from '../dom.ts';
import { duration, pct } from '../format.ts';
import { configSummary, statusBadge } from './runs.ts';

function curves(run: RunDetail): HTMLElement {
  const step = (e: { step: number }) => e.step;
  return h('section', { class: 'charts', 'data-testid': 'curves' },
    lineChart({ title: 'training loss', xLabel: 'step', series: [{ name: 'loss', color: '#d62728', points: run.train.map((e) => [step(e), e.loss]) }] }),
    lineChart({ title: 'learning rate', xLabel: 'step', series: [{ name: 'lr', color: '#1f77b4', points: run.train.map((e) => [step(e), e.lr]) }] }),
    lineChart({
      title: 'validation (%)', xLabel: 'step', format: (v) => String(Number(v.toFixed(1))),
      series: [
        { name: 'mIoU', color: '#2ca02c', points: run.evals.map((e) => [step(e), 100 * e.mIoU]) },
        { name: 'pixel accuracy', color: '#9467bd', points: run.evals.filter((e) => e.pixelAccuracy !== undefined).map((e) => [step(e), 100 * e.pixelAccuracy!]) },
      ],
    }),
  );
}

function evaluation(run: RunDetail): HTMLElement {
  const box = h('section', { class: 'evaluation' });
  if (run.evals.length === 0) {
    box.append(h('p', { class: 'muted' }, 'No validation yet.'));
    return box;
  }
  const body = h('div', { class: 'eval-body' });
  const show = (index: number) => {
    const e = run.evals[index];
    body.replaceChildren(
      h('p', {}, `step ${e.step}: mIoU ${pct(e.mIoU)} %, pixel accuracy ${pct(e.pixelAccuracy)} %`),
      h('div', { class: 'row' }, iouBars(e.iou, run.classes), confusionMatrix(e.matrix, run.classes)),
    );
  };
  const select = h('select', { 'data-testid': 'eval-step', onchange: () => show(Number(select.value)) },
    ...run.evals.map((e, i) => h('option', { value: i, selected: i === run.evals.length - 1 }, `step ${e.step}`)));
  box.append(h('h2', {}, 'Validation ', select), body);
  show(run.evals.length - 1);
  return box;
}

export async function runPage(root: HTMLElement, id: string): Promise<void> {
  const run = await api.run(id);
  const c = configSummary(run.config);
  root.replaceChildren(
    h('h1', {}, run.id, ' ', statusBadge(run.status)),
    h('dl', { class: 'facts' },
      ...([['model', c.model], ['loss', c.loss], ['optimizer', c.optimizer], ['data', c.data], ['budget', c.budget],
        ['step', String(run.step ?? '–')], ['time', duration(run.elapsedSeconds)],
        ['best', run.best ? `${run.best.metric} ${pct(run.best.value)} % at step ${run.best.step}` : '–'],
        ['end', run.end ? `${run.end.reason} at step ${run.end.step}` : '–']] as [string, string][])
        .flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    curves(run),
    evaluation(run),
    h('h2', {}, 'Maps'),
    run.maps.length === 0
      ? h('p', { class: 'muted' }, 'No maps (geoseg eval --maps <run>/maps writes them).')
      : h('ul', { class: 'maps', 'data-testid': 'maps' }, ...run.maps.map((m) => h('li', {}, h('a', { href: mapHref(m.manifest) }, m.title)))),
    h('details', {}, h('summary', {}, 'config.json'), h('pre', {}, JSON.stringify(run.config, null, 2))),
  );
}
