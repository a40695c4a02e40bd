/**
 * A study's main-area tab, and the comparison of several studies.
 *
 * The study tab re-fetches its study every poll interval while the study runs (and
 * the tab is visible), so its curves grow as trials end.
 */
import { Widget } from '@lumino/widgets';
import { APIError, IStudyDetail, ITrial, api } from './api';
import { formatNumber, parallelCoordinates, stepChart } from './charts';
import { element, relativeTime, statusBadge } from './panel';

const TABLE_ROWS = 500;

function section(parent: HTMLElement, title: string): HTMLElement {
  const box = element('section', 'jp-MetaHPO-section', '', parent);
  element('h3', 'jp-MetaHPO-section-title', title, box);
  return box;
}

function formatConfigValue(value: unknown): string {
  return typeof value === 'number' ? formatNumber(value) : String(value);
}

export function seconds(x: number): string {
  if (x < 120) {
    return `${x.toFixed(0)} s`;
  }
  if (x < 7200) {
    return `${(x / 60).toFixed(1)} min`;
  }
  return `${(x / 3600).toFixed(1)} h`;
}

/** The best-so-far points by trial number, and by seconds since the study's first trial began. */
export function curves(detail: IStudyDetail): {
  byTrial: [number, number][];
  byTime: [number, number][];
  lastTrial: number;
  lastTime: number;
} {
  const starts = detail.trials.map(t => t.started_at).filter((t): t is number => t !== null);
  const ends = detail.trials.map(t => t.finished_at).filter((t): t is number => t !== null);
  const origin = starts.length ? Math.min(...starts) : detail.study.started_at;
  return {
    byTrial: detail.best_so_far.map(([n, v]) => [n, v]),
    byTime: detail.best_so_far.filter(p => p[2] !== null).map(([, v, t]) => [(t as number) - origin, v]),
    lastTrial: detail.study.n_trials,
    lastTime: ends.length ? Math.max(...ends) - origin : 0
  };
}

export class StudyView extends Widget {
  detail: IStudyDetail | null = null;
  private timer = 0;
  private pollMs = 1000;

  constructor(readonly studyId: string, pollSeconds: number) {
    super();
    this.addClass('jp-MetaHPO-study');
    this.id = `jp-metahpo-study-${studyId}`;
    this.pollMs = Math.max(250, pollSeconds * 1000);
    this.title.label = `Study ${studyId.slice(0, 8)}`;
    this.title.closable = true;
    this.node.tabIndex = 0;
    element('div', 'jp-MetaHPO-loading', 'Loading…', this.node);
    void this.load();
  }

  dispose(): void {
    window.clearTimeout(this.timer);
    super.dispose();
  }

  async load(): Promise<void> {
    try {
      this.detail = await api.study(this.studyId);
      this.render(this.detail);
    } catch (error) {
      const message = error instanceof APIError ? error.message : String(error);
      this.node.replaceChildren(element('div', 'jp-MetaHPO-error', message));
      if (error instanceof APIError && error.status === 404) {
        return; // forgotten: nothing to poll
      }
    }
    this.schedule();
  }

  private schedule(): void {
    window.clearTimeout(this.timer);
    if (this.isDisposed || (this.detail && this.detail.study.status !== 'running')) {
      return;
    }
    this.timer = window.setTimeout(() => {
      if (this.isVisible && !document.hidden) {
        void this.load();
      } else {
        this.schedule();
      }
    }, this.pollMs);
  }

  private render(detail: IStudyDetail): void {
    const study = detail.study;
    const maximize = study.direction === 'maximize';
    this.title.label = study.name ?? `Study ${study.id.slice(0, 8)}`;
    this.title.caption = `${study.name ?? '(unnamed)'} · ${study.id}`;
    const scrollTop = this.node.scrollTop;
    const root = element('div', 'jp-MetaHPO-study-body');
    const head = element('div', 'jp-MetaHPO-study-head', '', root);
    element('h2', 'jp-MetaHPO-study-name', study.name ?? '(unnamed study)', head);
    head.appendChild(statusBadge(study.status));
    const facts = element('div', 'jp-MetaHPO-facts', '', root);
    const fact = (label: string, value: string) => {
      const item = element('span', 'jp-MetaHPO-fact', '', facts);
      element('span', 'jp-MetaHPO-fact-label', label, item);
      element('span', 'jp-MetaHPO-fact-value', value, item);
    };
    fact('best', `${formatNumber(detail.best?.value)} (${study.direction})`);
    fact('trials', `${study.n_trials} (${study.n_complete} complete, ${study.n_failed} failed, ${study.n_pruned} pruned)`);
    fact('task', study.task ?? '—');
    fact('objective', study.objective ?? '—');
    if (study.metric) {
      fact('metric', study.metric);
    }
    fact('started', new Date(study.started_at * 1000).toLocaleString());
    fact('last activity', relativeTime(study.updated_at));
    fact('id', study.id);
    if (detail.best) {
      const best = section(root, `Best configuration (trial ${detail.best.number})`);
      const table = element('table', 'jp-MetaHPO-table jp-MetaHPO-best-config', '', best);
      for (const [name, value] of Object.entries(detail.best.config)) {
        const tr = element('tr', '', '', table);
        element('th', '', name, tr);
        element('td', '', formatConfigValue(value), tr);
      }
    }
    const { byTrial, byTime, lastTrial, lastTime } = curves(detail);
    const charts = section(root, 'Best so far');
    const pair = element('div', 'jp-MetaHPO-chart-pair', '', charts);
    const left = element('div', 'jp-MetaHPO-chart-box jp-MetaHPO-by-trial', '', pair);
    left.appendChild(stepChart([{ label: 'best', points: byTrial }], { xLabel: 'trial', yLabel: maximize ? 'best (max)' : 'best (min)', xMax: lastTrial }));
    const right = element('div', 'jp-MetaHPO-chart-box jp-MetaHPO-by-time', '', pair);
    right.appendChild(stepChart([{ label: 'best', points: byTime }], { xLabel: 'time since the first trial', yLabel: maximize ? 'best (max)' : 'best (min)', xMax: lastTime, xFormat: seconds }));
    const origins = section(root, 'Where the configurations came from');
    const originTable = element('table', 'jp-MetaHPO-table jp-MetaHPO-origins', '', origins);
    const oh = element('tr', '', '', element('thead', '', '', originTable));
    for (const h of ['origin', 'trials', 'complete', 'best', 'reasons']) {
      element('th', '', h, oh);
    }
    const ob = element('tbody', '', '', originTable);
    for (const group of detail.origins) {
      const tr = element('tr', '', '', ob);
      element('td', 'jp-MetaHPO-origin-source', group.source, tr);
      element('td', '', String(group.count), tr);
      element('td', '', String(group.n_complete), tr);
      element('td', '', formatNumber(group.best_value), tr);
      const reasons = element('td', 'jp-MetaHPO-reasons', '', tr);
      for (const r of group.reasons.slice(0, 5)) {
        element('div', 'jp-MetaHPO-reason', r.count > 1 ? `${r.reason} (×${r.count})` : r.reason, reasons);
      }
      if (group.n_reasons > 5) {
        element('div', 'jp-MetaHPO-reason jp-MetaHPO-more', `… ${group.n_reasons - 5} more reasons`, reasons);
      }
    }
    const pc = section(root, 'Parallel coordinates');
    pc.appendChild(parallelCoordinates(study.space, detail.trials, maximize));
    this.trialsTable(section(root, 'Trials'), detail.trials, detail.trials_truncated, study.n_trials);
    this.node.replaceChildren(root);
    this.node.scrollTop = scrollTop;
  }

  private trialsTable(box: HTMLElement, trials: ITrial[], truncated: boolean, total: number): void {
    const names = trials.length ? Object.keys(trials[trials.length - 1].config) : [];
    const table = element('table', 'jp-MetaHPO-table jp-MetaHPO-trials', '', box);
    const head = element('tr', '', '', element('thead', '', '', table));
    for (const h of ['#', 'state', 'value', ...names, 'origin', 'duration']) {
      element('th', '', h, head);
    }
    const body = element('tbody', '', '', table);
    const shown = trials.slice(-TABLE_ROWS).reverse(); // the latest first
    for (const t of shown) {
      const tr = element('tr', `jp-MetaHPO-trial-${t.state}`, '', body);
      element('td', '', String(t.number), tr);
      const state = element('td', '', t.state, tr);
      if (t.error || t.prune_reason) {
        state.title = t.error ?? t.prune_reason ?? '';
      }
      element('td', '', formatNumber(t.value), tr);
      for (const n of names) {
        element('td', '', formatConfigValue(t.config[n]), tr);
      }
      const origin = element('td', '', t.origin.source, tr);
      origin.title = t.origin.reason;
      element('td', '', t.duration === null ? '–' : seconds(t.duration), tr);
    }
    if (shown.length < total) {
      element('div', 'jp-MetaHPO-note', `The latest ${shown.length} of ${total} trials${truncated ? ' (the study page holds the latest 5,000)' : ''}.`, box);
    }
  }
}

export class CompareView extends Widget {
  constructor(readonly ids: string[]) {
    super();
    this.addClass('jp-MetaHPO-compare-view');
    this.id = `jp-metahpo-compare-${ids.join('-').slice(0, 80)}`;
    this.title.label = `Compare ${ids.length} studies`;
    this.title.closable = true;
    element('div', 'jp-MetaHPO-loading', 'Loading…', this.node);
    void this.load();
  }

  async load(): Promise<void> {
    try {
      const details = await Promise.all(this.ids.map(id => api.study(id)));
      this.render(details);
    } catch (error) {
      this.node.replaceChildren(element('div', 'jp-MetaHPO-error', error instanceof APIError ? error.message : String(error)));
    }
  }

  private render(details: IStudyDetail[]): void {
    const root = element('div', 'jp-MetaHPO-study-body');
    element('h2', 'jp-MetaHPO-study-name', `Comparing ${details.length} studies`, root);
    const directions = new Set(details.map(d => d.study.direction));
    if (directions.size > 1) {
      element('div', 'jp-MetaHPO-note jp-MetaHPO-warning', 'These studies optimise in different directions; their curves are not comparable as better/worse.', root);
    }
    const label = (d: IStudyDetail) => d.study.name ?? d.study.id.slice(0, 8);
    const charts = section(root, 'Best so far');
    const pair = element('div', 'jp-MetaHPO-chart-pair', '', charts);
    const byTrial = element('div', 'jp-MetaHPO-chart-box jp-MetaHPO-by-trial', '', pair);
    byTrial.appendChild(stepChart(details.map(d => ({ label: label(d), points: curves(d).byTrial })), { xLabel: 'trial', yLabel: 'best so far', xMax: Math.max(...details.map(d => d.study.n_trials)) }));
    const byTime = element('div', 'jp-MetaHPO-chart-box jp-MetaHPO-by-time', '', pair);
    byTime.appendChild(stepChart(details.map(d => ({ label: label(d), points: curves(d).byTime })), { xLabel: 'time since the first trial', yLabel: 'best so far', xFormat: seconds }));
    const summary = section(root, 'Summary');
    const table = element('table', 'jp-MetaHPO-table jp-MetaHPO-compare-table', '', summary);
    const params = [...new Set(details.flatMap(d => Object.keys(d.study.space)))];
    const head = element('tr', '', '', element('thead', '', '', table));
    for (const h of ['', 'study', 'task', 'status', 'direction', 'trials', 'best', ...params.map(p => `best ${p}`)]) {
      element('th', '', h, head);
    }
    const body = element('tbody', '', '', table);
    details.forEach((d, k) => {
      const tr = element('tr', '', '', body);
      const key = element('td', '', '', tr);
      element('span', `jp-MetaHPO-swatch jp-MetaHPO-series-${k % 6}`, '', key);
      element('td', '', label(d), tr);
      element('td', '', d.study.task ?? '—', tr);
      const status = element('td', '', '', tr);
      status.appendChild(statusBadge(d.study.status));
      element('td', '', d.study.direction, tr);
      element('td', '', String(d.study.n_trials), tr);
      element('td', '', formatNumber(d.best?.value), tr);
      for (const p of params) {
        const value = d.best?.config[p];
        element('td', '', value === undefined ? (p in d.study.space ? '–' : 'not in space') : formatConfigValue(value), tr);
      }
    });
    this.node.replaceChildren(root);
  }
}
