// The run view's log pane: one rank at a time, every line kept, only the lines in
// view in the DOM (a million lines scroll like ten), following the end until the
// user scrolls up, with a substring filter.
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { ansiToHtml, stripAnsi } from '../common/ansi';
import { computeWindow, contentHeight, LogLines, scrollTopFor } from './logs';

/** Lines rendered above and below the viewport. */
const OVERSCAN = 20;

/** What the log pane can do besides showing lines. */
export interface ILogViewOptions {
  /** Download rank r's full log file. */
  download?: (rank: number) => void;
}

/** The run tab's log pane (a virtual list of one rank's lines). */
export class LogView extends Widget {
  constructor(options: ILogViewOptions = {}) {
    super();
    this.addClass('mltrain-logview');
    this._download = options.download ?? null;
    const bar = document.createElement('div');
    bar.className = 'mltrain-log-toolbar';

    this._rankSelect = document.createElement('select');
    this._rankSelect.className = 'mltrain-select';
    this._rankSelect.dataset.testid = 'mltrain-log-rank';
    this._rankSelect.title = 'Rank whose log is shown';
    this._rankSelect.addEventListener('change', () => {
      this._userChoseRank = true;
      this.setRank(Number(this._rankSelect.value));
    });

    this._filter = document.createElement('input');
    this._filter.type = 'search';
    this._filter.className = 'mltrain-input mltrain-log-filter';
    this._filter.placeholder = 'Filter lines';
    this._filter.dataset.testid = 'mltrain-log-filter';
    this._filter.addEventListener('input', () => this._setFilter(this._filter.value));

    this._count = document.createElement('span');
    this._count.className = 'mltrain-log-count';
    this._count.dataset.testid = 'mltrain-log-count';

    this._followBtn = document.createElement('button');
    this._followBtn.className = 'mltrain-button mltrain-log-follow';
    this._followBtn.textContent = '↓ Follow';
    this._followBtn.title = 'Scroll to the end and follow new lines';
    this._followBtn.dataset.testid = 'mltrain-log-follow';
    this._followBtn.addEventListener('click', () => {
      this._follow = true;
      this._scheduleRender();
    });

    const dl = document.createElement('button');
    dl.className = 'mltrain-button';
    dl.textContent = 'Download';
    dl.title = "Download this rank's full log";
    dl.addEventListener('click', () => this._download?.(this._rank));
    dl.hidden = this._download === null;

    bar.append(this._rankSelect, this._filter, this._count, this._followBtn, dl);

    this._viewport = document.createElement('div');
    this._viewport.className = 'mltrain-log-viewport';
    this._viewport.dataset.testid = 'mltrain-log';
    this._viewport.tabIndex = 0;
    this._viewport.setAttribute('role', 'log');
    this._sizer = document.createElement('div');
    this._sizer.className = 'mltrain-log-sizer';
    this._block = document.createElement('div');
    this._block.className = 'mltrain-log-block';
    this._sizer.append(this._block);
    this._empty = document.createElement('div');
    this._empty.className = 'mltrain-log-empty';
    this._empty.textContent = 'No output yet.';
    this._viewport.append(this._sizer, this._empty);
    this._viewport.addEventListener('scroll', () => this._onScroll(), { passive: true });
    this._viewport.addEventListener(
      'wheel',
      e => {
        if (e.deltaY < 0) this._follow = false;
      },
      { passive: true }
    );
    this._viewport.addEventListener('keydown', e => {
      if (['ArrowUp', 'PageUp', 'Home'].includes(e.key)) this._follow = false;
    });

    this.node.append(bar, this._viewport);
    this._setRanks(1);
  }

  /** The rank shown. */
  get rank(): number {
    return this._rank;
  }

  /** Lines of a rank (created on first use). */
  lines(rank: number): LogLines {
    let l = this._logs.get(rank);
    if (!l) {
      l = new LogLines();
      this._logs.set(rank, l);
      if (rank >= this._rankCount) this._setRanks(rank + 1);
    }
    return l;
  }

  /** The run's number of ranks (offered in the selector even before they print). */
  setRankCount(n: number): void {
    if (n > this._rankCount) this._setRanks(n);
  }

  /** Append text that arrived for a rank. */
  append(rank: number, text: string): void {
    const l = this.lines(rank);
    const before = l.lines.length;
    l.append(text);
    if (rank !== this._rank) return;
    if (this._matches) this._extendMatches(l, before);
    this._scheduleRender();
  }

  setRank(rank: number): void {
    this._rank = rank;
    this._rankSelect.value = String(rank);
    this._follow = true;
    this._matches = this._query ? [] : null;
    if (this._query) this._extendMatches(this.lines(rank), 0);
    this._scheduleRender();
  }

  /** Scroll so that line `index` (0-based, of the shown list) is at the top; stops following. */
  scrollToLine(index: number): void {
    this._follow = false;
    const v = this._viewport;
    this._measure();
    v.scrollTop = scrollTopFor(index, v.clientHeight, this._lineHeight, this._shownCount());
    this._render();
  }

  /** Whether the user picked the rank (then the view never switches by itself). */
  get userChoseRank(): boolean {
    return this._userChoseRank;
  }

  /** Whether the view follows the end. */
  get following(): boolean {
    return this._follow;
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this._lineHeight = 0;
    this._scheduleRender();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._scheduleRender();
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this._scheduleRender();
  }

  dispose(): void {
    if (this._raf) cancelAnimationFrame(this._raf);
    super.dispose();
  }

  private _setRanks(n: number): void {
    this._rankCount = n;
    const opts: HTMLOptionElement[] = [];
    for (let r = 0; r < n; r++) {
      const o = document.createElement('option');
      o.value = String(r);
      o.textContent = `rank ${r}`;
      opts.push(o);
    }
    this._rankSelect.replaceChildren(...opts);
    this._rankSelect.value = String(this._rank);
  }

  private _setFilter(q: string): void {
    this._query = q.toLowerCase();
    this._matches = null;
    if (this._query) {
      this._matches = [];
      this._extendMatches(this.lines(this._rank), 0);
    }
    this._scheduleRender();
  }

  /** Add the indexes of complete lines from `from` on that match the filter. */
  private _extendMatches(l: LogLines, from: number): void {
    const m = this._matches!;
    const q = this._query;
    const lines = l.lines;
    for (let i = from; i < lines.length; i++) {
      if (stripAnsi(lines[i]).toLowerCase().includes(q)) m.push(i);
    }
  }

  /** Rows in the list: matching lines, or all lines plus the unfinished one. */
  private _shownCount(): number {
    if (this._matches) return this._matches.length;
    return this.lines(this._rank).length;
  }

  private _scheduleRender(): void {
    if (this._raf || !this.isAttached) return;
    this._raf = requestAnimationFrame(() => {
      this._raf = 0;
      this._render();
    });
  }

  private _measure(): void {
    if (this._lineHeight > 0) return;
    const probe = document.createElement('div');
    probe.className = 'mltrain-log-line';
    probe.textContent = 'M';
    this._block.append(probe);
    this._lineHeight = probe.getBoundingClientRect().height || 18;
    probe.remove();
  }

  private _render(): void {
    if (!this.isVisible) return;
    this._measure();
    const v = this._viewport;
    const l = this.lines(this._rank);
    const count = this._shownCount();
    const lh = this._lineHeight;
    const height = contentHeight(count, lh);
    this._sizer.style.height = `${height}px`;
    if (this._follow) {
      const target = Math.max(0, height - v.clientHeight);
      if (Math.abs(v.scrollTop - target) > 1) {
        this._programmatic = target;
        v.scrollTop = target;
      }
    }
    const w = computeWindow(v.scrollTop, v.clientHeight, lh, count, OVERSCAN);
    let html = '';
    const partialIndex = l.lines.length; // the unfinished line's index, when shown
    for (let i = w.start; i < w.end; i++) {
      const idx = this._matches ? this._matches[i] : i;
      const text = l.line(idx);
      const cls =
        idx === partialIndex ? 'mltrain-log-line mltrain-log-partial' : 'mltrain-log-line';
      html += `<div class="${cls}"><span class="mltrain-log-ln">${idx + 1}</span>${ansiToHtml(text)}</div>`;
    }
    this._block.style.transform = `translateY(${w.top}px)`;
    this._block.innerHTML = html;
    this._empty.hidden = count > 0 || this._query !== '';
    const total = l.lines.length;
    this._count.textContent = this._matches
      ? `${this._matches.length.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} lines`
      : `${total.toLocaleString('en-US')} lines`;
    this._count.dataset.lines = String(total);
    this._followBtn.hidden = this._follow;
  }

  private _onScroll(): void {
    const v = this._viewport;
    if (this._programmatic !== null && Math.abs(v.scrollTop - this._programmatic) <= 1) {
      this._programmatic = null;
    } else {
      this._programmatic = null;
      const atEnd = v.scrollHeight - v.scrollTop - v.clientHeight < this._lineHeight;
      this._follow = atEnd;
    }
    this._scheduleRender();
  }

  private _logs = new Map<number, LogLines>();
  private _rank = 0;
  private _userChoseRank = false;
  private _rankCount = 0;
  private _follow = true;
  private _query = '';
  private _matches: number[] | null = null;
  private _lineHeight = 0;
  private _raf = 0;
  private _programmatic: number | null = null;
  private _download: ((rank: number) => void) | null;
  private _rankSelect: HTMLSelectElement;
  private _filter: HTMLInputElement;
  private _count: HTMLSpanElement;
  private _followBtn: HTMLButtonElement;
  private _viewport: HTMLDivElement;
  private _sizer: HTMLDivElement;
  private _block: HTMLDivElement;
  private _empty: HTMLDivElement;
}
