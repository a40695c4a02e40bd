/**
 * The "Experience" sidebar: the store's studies in a virtualised list.
 *
 * Only the rows in view exist in the DOM (fixed row height), and only the pages of
 * rows in view are fetched (PAGE rows a request, sorted and filtered by the server),
 * so 10,000 studies scroll like 10. While the panel is visible it re-fetches the pages
 * in view every `poll_interval` seconds (1 s by default): a trial that ends in any
 * kernel shows within that interval plus one request.
 */
import { Widget } from '@lumino/widgets';
import { APIError, IStudyRow, api } from './api';
import { formatNumber, sparkline } from './charts';

export const ROW_HEIGHT = 52;
const PAGE = 200;
const OVERSCAN = 6;

export interface IPanelActions {
  open(id: string): void;
  compare(ids: string[]): void;
  importFile(): void;
}

export function relativeTime(seconds: number): string {
  const delta = Date.now() / 1000 - seconds;
  if (delta < 60) {
    return 'just now';
  }
  if (delta < 3600) {
    return `${Math.floor(delta / 60)} min ago`;
  }
  if (delta < 86400) {
    return `${Math.floor(delta / 3600)} h ago`;
  }
  return new Date(seconds * 1000).toLocaleDateString();
}

/** A new element with a class, text and parent, each optional (the views build their DOM with it). */
export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text = '',
  parent?: HTMLElement
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text) {
    node.textContent = text;
  }
  parent?.appendChild(node);
  return node;
}

export function statusBadge(status: string): HTMLSpanElement {
  const badge = element('span', `jp-MetaHPO-badge jp-MetaHPO-badge-${status}`, status);
  badge.title = `status: ${status}`;
  return badge;
}

export class ExperiencePanel extends Widget {
  /** The study last clicked or focused: what the commands act on when invoked from the palette. */
  currentId: string | null = null;
  readonly selected = new Set<string>();
  private rows = new Map<number, IStudyRow>();
  private loadedPages = new Map<number, number>(); // page -> generation
  private pending = new Set<number>();
  private generation = 0;
  private total = -1;
  private pollMs = 1000;
  private timer = 0;
  private error: string | null = null;
  private searchBox: HTMLInputElement;
  private statusSelect: HTMLSelectElement;
  private sortSelect: HTMLSelectElement;
  private orderButton: HTMLButtonElement;
  private compareButton: HTMLButtonElement;
  private scroller: HTMLDivElement;
  private spacer: HTMLDivElement;
  private footer: HTMLDivElement;
  private descending = true;
  private searchDelay = 0;

  constructor(private actions: IPanelActions) {
    super();
    this.id = 'jp-metahpo-experience';
    this.addClass('jp-MetaHPO-panel');
    this.title.caption = 'Experience: the studies of your experience store';
    const node = this.node;
    const header = element('div', 'jp-MetaHPO-header', '', node);
    element('span', 'jp-MetaHPO-title', 'Experience', header);
    const buttons = element('span', 'jp-MetaHPO-buttons', '', header);
    this.compareButton = element('button', 'jp-MetaHPO-button jp-MetaHPO-compare', 'Compare', buttons);
    this.compareButton.title = 'Compare the selected studies (tick two or more)';
    this.compareButton.onclick = () => this.actions.compare([...this.selected]);
    const importButton = element('button', 'jp-MetaHPO-button jp-MetaHPO-import', 'Import…', buttons);
    importButton.title = 'Import an exported file of studies into the store';
    importButton.onclick = () => this.actions.importFile();
    const refresh = element('button', 'jp-MetaHPO-button jp-MetaHPO-refresh', '⟳', buttons);
    refresh.title = 'Refresh now';
    refresh.onclick = () => this.reload();

    const controls = element('div', 'jp-MetaHPO-controls', '', node);
    this.searchBox = element('input', 'jp-MetaHPO-search jp-mod-styled', '', controls);
    this.searchBox.type = 'search';
    this.searchBox.placeholder = 'Filter by name, task, id…';
    this.searchBox.oninput = () => {
      window.clearTimeout(this.searchDelay);
      this.searchDelay = window.setTimeout(() => this.reload(), 200);
    };
    this.statusSelect = element('select', 'jp-MetaHPO-status-filter jp-mod-styled', '', controls);
    for (const [value, text] of [['', 'any status'], ['running', 'running'], ['finished', 'finished'], ['stopped,timeout,interrupted,failed', 'ended early']]) {
      const option = element('option', '', text, this.statusSelect);
      option.value = value;
    }
    this.statusSelect.onchange = () => this.reload();
    this.sortSelect = element('select', 'jp-MetaHPO-sort jp-mod-styled', '', controls);
    for (const [value, text] of [['updated_at', 'last activity'], ['started_at', 'started'], ['name', 'name'], ['task', 'task'], ['best_value', 'best value'], ['n_trials', 'trials'], ['status', 'status']]) {
      const option = element('option', '', text, this.sortSelect);
      option.value = value;
    }
    this.sortSelect.onchange = () => {
      this.descending = !['name', 'task', 'status', 'best_value'].includes(this.sortSelect.value);
      this.updateOrderButton();
      this.reload();
    };
    this.orderButton = element('button', 'jp-MetaHPO-button jp-MetaHPO-order', '', controls);
    this.orderButton.onclick = () => {
      this.descending = !this.descending;
      this.updateOrderButton();
      this.reload();
    };
    this.updateOrderButton();

    this.scroller = element('div', 'jp-MetaHPO-list', '', node);
    this.scroller.setAttribute('role', 'list');
    this.spacer = element('div', 'jp-MetaHPO-spacer', '', this.scroller);
    this.scroller.onscroll = () => this.renderRows();
    this.footer = element('div', 'jp-MetaHPO-footer', '', node);
  }

  set pollInterval(seconds: number) {
    this.pollMs = Math.max(250, seconds * 1000);
  }

  private updateOrderButton(): void {
    this.orderButton.textContent = this.descending ? '↓' : '↑';
    this.orderButton.title = this.descending ? 'Descending (click for ascending)' : 'Ascending (click for descending)';
  }

  protected onAfterShow(): void {
    this.reload();
    this.schedule();
  }

  protected onAfterAttach(): void {
    if (this.isVisible) {
      this.reload();
      this.schedule();
    }
  }

  protected onBeforeHide(): void {
    window.clearTimeout(this.timer);
  }

  protected onResize(): void {
    this.renderRows();
  }

  dispose(): void {
    window.clearTimeout(this.timer);
    super.dispose();
  }

  private schedule(): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(async () => {
      if (this.isVisible && !document.hidden) {
        await this.refreshVisible();
      }
      if (!this.isDisposed && this.isVisible) {
        this.schedule();
      }
    }, this.pollMs);
  }

  private params(page: number): Record<string, string | number> {
    return {
      q: this.searchBox.value.trim(),
      status: this.statusSelect.value,
      sort: this.sortSelect.value,
      order: this.descending ? 'desc' : 'asc',
      offset: page * PAGE,
      limit: PAGE
    };
  }

  /** A new query (search, filter, sort) or a refresh: forget every row and fetch what is in view. */
  reload(): void {
    this.generation++;
    this.loadedPages.clear();
    this.pending.clear();
    void this.ensurePages(this.visiblePages(), true);
  }

  /** The poll: re-fetch the pages in view; rows elsewhere are re-fetched when scrolled to. */
  async refreshVisible(): Promise<void> {
    this.generation++;
    const pages = this.visiblePages();
    for (const page of [...this.loadedPages.keys()]) {
      if (!pages.includes(page)) {
        this.loadedPages.delete(page);
      }
    }
    await this.ensurePages(pages, true);
  }

  private visiblePages(): number[] {
    const first = Math.max(0, Math.floor(this.scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.floor((this.scroller.scrollTop + (this.scroller.clientHeight || 600)) / ROW_HEIGHT) + OVERSCAN;
    const pages: number[] = [];
    for (let p = Math.floor(first / PAGE); p <= Math.floor(last / PAGE); p++) {
      if (this.total < 0 || p * PAGE < Math.max(this.total, 1)) {
        pages.push(p);
      }
    }
    return pages.length ? pages : [0];
  }

  private async ensurePages(pages: number[], force = false): Promise<void> {
    const generation = this.generation;
    const wanted = pages.filter(p => force || (!this.loadedPages.has(p) && !this.pending.has(p)));
    await Promise.all(
      wanted.map(async page => {
        this.pending.add(page);
        try {
          const list = await api.list(this.params(page));
          if (generation !== this.generation && this.loadedPages.get(page) === this.generation) {
            return; // a newer answer for this page is already in
          }
          if (page === 0 || this.total !== list.total) {
            if (this.total !== list.total) {
              // The count changed (a study started, a filter): rows beyond the answer are stale.
              for (const index of [...this.rows.keys()]) {
                if (index >= list.total) {
                  this.rows.delete(index);
                }
              }
            }
            this.total = list.total;
          }
          list.studies.forEach((row, i) => this.rows.set(page * PAGE + i, row));
          this.loadedPages.set(page, generation);
          this.error = null;
        } catch (error) {
          this.error = error instanceof APIError ? error.message : String(error);
        } finally {
          this.pending.delete(page);
        }
      })
    );
    this.renderRows();
  }

  /** Draw the rows in view (and ask for any page in view not fetched yet). */
  renderRows(): void {
    const total = Math.max(this.total, 0);
    this.spacer.style.height = `${total * ROW_HEIGHT}px`;
    const first = Math.max(0, Math.floor(this.scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(total - 1, Math.floor((this.scroller.scrollTop + (this.scroller.clientHeight || 600)) / ROW_HEIGHT) + OVERSCAN);
    const missing = new Set<number>();
    const fragment = document.createDocumentFragment();
    for (let index = first; index <= last; index++) {
      const row = this.rows.get(index);
      const page = Math.floor(index / PAGE);
      if (!row || !this.loadedPages.has(page)) {
        missing.add(page);
      }
      fragment.appendChild(row ? this.rowNode(row, index) : this.placeholder(index));
    }
    this.spacer.replaceChildren(fragment);
    this.compareButton.disabled = this.selected.size < 2;
    this.compareButton.textContent = this.selected.size ? `Compare (${this.selected.size})` : 'Compare';
    if (this.error) {
      this.footer.textContent = this.error;
      this.footer.classList.add('jp-MetaHPO-error');
    } else {
      this.footer.classList.remove('jp-MetaHPO-error');
      this.footer.textContent = this.total < 0 ? 'Loading…' : `${total.toLocaleString()} ${total === 1 ? 'study' : 'studies'}`;
    }
    if (this.total === 0 && !this.error) {
      const empty = element('div', 'jp-MetaHPO-empty', this.searchBox.value || this.statusSelect.value
        ? 'No study matches.' : 'No study yet: run a %%metatune cell, or import a file.');
      this.spacer.appendChild(empty);
    }
    const toFetch = [...missing].filter(p => !this.pending.has(p));
    if (toFetch.length) {
      void this.ensurePages(toFetch);
    }
  }

  private placeholder(index: number): HTMLElement {
    const node = element('div', 'jp-MetaHPO-row jp-MetaHPO-row-loading', '…');
    node.style.top = `${index * ROW_HEIGHT}px`;
    return node;
  }

  private rowNode(row: IStudyRow, index: number): HTMLElement {
    const node = element('div', 'jp-MetaHPO-row');
    node.style.top = `${index * ROW_HEIGHT}px`;
    node.dataset.studyId = row.id;
    node.setAttribute('role', 'listitem');
    node.tabIndex = 0;
    if (row.id === this.currentId) {
      node.classList.add('jp-mod-current');
    }
    const box = element('input', 'jp-MetaHPO-select', '', node);
    box.type = 'checkbox';
    box.checked = this.selected.has(row.id);
    box.title = 'Select to compare';
    box.onclick = event => {
      event.stopPropagation();
      if (box.checked) {
        this.selected.add(row.id);
      } else {
        this.selected.delete(row.id);
      }
      this.renderRows();
    };
    const main = element('div', 'jp-MetaHPO-row-main', '', node);
    const line1 = element('div', 'jp-MetaHPO-row-line', '', main);
    const name = element('span', 'jp-MetaHPO-name', row.name ?? `(unnamed ${row.id.slice(0, 8)})`, line1);
    name.title = `${row.name ?? '(unnamed)'} · id ${row.id}`;
    line1.appendChild(statusBadge(row.status));
    const best = element('span', 'jp-MetaHPO-best', formatNumber(row.best_value), line1);
    best.title = `best value (${row.direction})`;
    const line2 = element('div', 'jp-MetaHPO-row-line jp-MetaHPO-row-sub', '', main);
    const trials = row.n_trials === 1 ? '1 trial' : `${row.n_trials} trials`;
    element('span', 'jp-MetaHPO-meta', `${row.task ?? '—'} · ${trials} · ${relativeTime(row.updated_at)}`, line2);
    const spark = sparkline(row.sparkline ?? []);
    spark.classList.add(row.direction === 'maximize' ? 'jp-MetaHPO-up' : 'jp-MetaHPO-down');
    line2.appendChild(spark);
    const open = () => {
      this.currentId = row.id;
      this.actions.open(row.id);
      this.renderRows();
    };
    node.onclick = open;
    node.onkeydown = event => {
      if (event.key === 'Enter') {
        open();
      }
    };
    node.onfocus = () => {
      this.currentId = row.id;
    };
    node.oncontextmenu = () => {
      this.currentId = row.id;
    };
    return node;
  }

  /** The row object of a study in view (for commands run from its context menu). */
  rowById(id: string): IStudyRow | undefined {
    for (const row of this.rows.values()) {
      if (row.id === id) {
        return row;
      }
    }
    return undefined;
  }
}
