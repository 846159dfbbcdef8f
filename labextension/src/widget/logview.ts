// The log pane: one rank (or all ranks merged), bounded, appended in batches,
// following the bottom until the user scrolls up.
import { ansiToHtml } from '../common/ansi';
import { h } from '../common/dom';
import { escapeHtml } from '../common/escape';
import { fmtCount } from '../common/format';
import { sortRanks } from '../common/series';
import { IEntry, MAX_LINES, RankLog, RunBuffers } from './buffers';
import { ALL, LogPath } from './logpath';
import { sectionHead } from './section';

const NAV_KEYS = new Set(['ArrowUp', 'ArrowDown', 'PageUp', 'PageDown', 'Home', 'End', ' ']);
const UP_KEYS = new Set(['ArrowUp', 'PageUp', 'Home']);
/** Lines per chunk element of the pane. */
const CHUNK = 200;
/** Ranks offered at most from the `ranks` trait. */
const MAX_RANKS = 4096;

type Pair = [IEntry, string];

/** The estimated height of a chunk of n lines until the browser has laid it out once. */
function chunkSize(n: number): string {
  return `auto ${(n * 1.35).toFixed(2)}em`;
}

function weight(e: IEntry): number {
  return e.skip ? e.skip : 1;
}

function rankPrefix(r: string): string {
  return `<span class="mltrain-line-rank">[${escapeHtml(r)}]</span> `;
}

function entryHtml(e: IEntry, r: string, all: boolean): string {
  const prefix = all ? rankPrefix(r) : '';
  if (e.skip) {
    return `<div class="mltrain-line-skip">${prefix}… ${fmtCount(e.skip)} lines skipped (printed faster than shown; the full log has them)</div>`;
  }
  if (e.h === undefined) e.h = ansiToHtml(e.t ?? '');
  return `<div class="mltrain-line">${prefix}${e.h}</div>`;
}

/** The last `max` entries of all ranks, in key order, as [entry, rank] pairs. */
function mergeTail(logs: Map<string, RankLog>, max: number): Pair[] {
  const ranks = sortRanks(logs.keys());
  const lists = ranks.map(r => logs.get(r)!.entries);
  const pos = lists.map(l => l.length - 1);
  const out: Pair[] = [];
  while (out.length < max) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      if (pos[i] < 0) continue;
      if (best < 0 || lists[i][pos[i]].k > lists[best][pos[best]].k) best = i;
    }
    if (best < 0) break;
    out.push([lists[best][pos[best]--], ranks[best]]);
  }
  return out.reverse();
}

/** The widget's log section: a rank select, the full log's path, and the pane. */
export class LogView {
  /** A view of `buffers`' logs. */
  constructor(private readonly buffers: RunBuffers) {
    this.select = h('select', {
      class: 'mltrain-rank-select',
      'data-testid': 'mltrain-rank-select',
      'aria-label': 'Show the log of',
      onchange: () => this.setSource(this.select.value)
    });
    this.count = h('span', { class: 'mltrain-log-count' });
    const bar = sectionHead('Logs', 'mltrain-log-toolbar', this.select, this.count, this.path.root);
    this.note = h('div', { class: 'mltrain-log-note', hidden: true });
    this.body = h('div', { class: 'mltrain-log-body' });
    this.partial = h('div', { class: 'mltrain-log-partial', hidden: true });
    this.empty = h('div', { class: 'mltrain-log-empty' }, 'No output yet.');
    this.pane = h(
      'div',
      { class: 'mltrain-log', 'data-testid': 'mltrain-log', tabindex: 0, role: 'log' },
      this.note,
      this.body,
      this.partial,
      this.empty
    );
    this.follow = h(
      'button',
      {
        class: 'mltrain-log-follow',
        type: 'button',
        hidden: true,
        title: 'Scroll to the end and follow new lines'
      },
      '↓ Follow'
    );
    this.follow.addEventListener('click', () => {
      this.stick = true;
      this._scroll();
    });
    this._listen();
    // Chunks laid out for the first time may change height after a scroll: stay at the end.
    this.resizer = new ResizeObserver(() => {
      if (this.stick) this.pane.scrollTop = this.pane.scrollHeight;
    });
    this.resizer.observe(this.body);
    this.root = h(
      'div',
      { class: 'mltrain-section mltrain-logs' },
      bar,
      h('div', { class: 'mltrain-log-wrap' }, this.pane, this.follow)
    );
    this.refreshRanks();
  }

  /** The section's element. */
  readonly root: HTMLDivElement;

  /** Follow the end until the user scrolls up; follow again once they are back at the end. */
  private _listen(): void {
    const intent = (): void => {
      this.userAt = performance.now();
    };
    const unstick = (): void => {
      if (this.pane.scrollHeight <= this.pane.clientHeight) return; // nothing to scroll
      this.stick = false;
      this.follow.hidden = false;
    };
    const pane = this.pane;
    pane.addEventListener(
      'wheel',
      e => {
        intent();
        if (e.deltaY < 0) unstick();
      },
      { passive: true }
    );
    pane.addEventListener('touchmove', intent, { passive: true });
    pane.addEventListener('pointerdown', e => e.target === pane && intent()); // the scrollbar
    pane.addEventListener('keydown', e => {
      if (NAV_KEYS.has(e.key)) intent();
      if (UP_KEYS.has(e.key)) unstick();
    });
    pane.addEventListener('scroll', () => {
      const now = performance.now();
      const user = now - this.userAt < 1000;
      if (user) this.userAt = now; // a drag of the scrollbar goes on
      if (pane.scrollHeight - pane.scrollTop - pane.clientHeight < 8) this.stick = true;
      else if (user) this.stick = false;
      this.follow.hidden = this.stick;
    });
  }

  /** The run's rank count (the `ranks` trait). */
  setRankCount(n: number): void {
    this.nRanks = Math.max(0, Math.min(n, MAX_RANKS));
    this.refreshRanks();
  }

  /** Offer ranks 0..n-1 plus any rank seen in the data, then "all ranks". */
  refreshRanks(): void {
    const seen = new Set<string>();
    for (let r = 0; r < this.nRanks; r++) seen.add(String(r));
    for (const r of this.buffers.logs.keys()) seen.add(r);
    if (seen.size === 0) seen.add('0');
    const ranks = sortRanks(seen);
    const want = [...ranks, ALL].join(',');
    if (this.options === want) return;
    this.options = want;
    this.select.replaceChildren(
      ...ranks.map(r => h('option', { value: r }, `rank ${r}`)),
      h('option', { value: ALL }, 'all ranks')
    );
    this.select.value = this.source;
    if (this.select.value !== this.source) {
      this.select.value = '0';
      this.source = '0';
    }
  }

  /** Show the log of a rank, or of ALL ranks merged. */
  setSource(src: string): void {
    this.source = String(src);
    this.select.value = this.source;
    this.stick = true;
    this.path.render(this.source);
    this.rebuild();
  }

  /** `log_paths` (rank -> path) and `files_url`. */
  setPaths(paths: unknown, filesUrl: unknown): void {
    this.path.setPaths(paths, filesUrl);
    this.path.render(this.source);
  }

  private _total(): number {
    if (this.source !== ALL) return this.buffers.logs.get(this.source)?.total ?? 0;
    let t = 0;
    for (const rl of this.buffers.logs.values()) t += rl.total;
    return t;
  }

  /** Redraw the pane from the buffers (rank switch, new history). */
  rebuild(): void {
    const all = this.source === ALL;
    const pairs: Pair[] = all
      ? mergeTail(this.buffers.logs, MAX_LINES)
      : (this.buffers.logs.get(this.source)?.entries ?? []).map(e => [e, this.source]);
    this.weights = [];
    this.shownWeight = 0;
    this.chunks = [];
    this.body.innerHTML = this._chunksHtml(this._lines(pairs, all));
    this._renderPartial();
    this._finish();
  }

  /**
   * Add what a batch of deltas brought: `lines` (rank -> new entries) and
   * `partials` (ranks whose partial line changed).
   */
  append(lines: Map<string, IEntry[]>, partials: Set<string>): void {
    const all = this.source === ALL;
    let pairs: Pair[];
    if (all) {
      pairs = [];
      for (const [r, es] of lines) for (const e of es) pairs.push([e, r]);
      pairs.sort((a, b) => a[0].k - b[0].k);
    } else {
      pairs = (lines.get(this.source) ?? []).map(e => [e, this.source]);
    }
    const partialChanged = all ? partials.size > 0 : partials.has(this.source);
    if (pairs.length === 0 && !partialChanged) return;
    if (pairs.length >= MAX_LINES) {
      this.rebuild();
      return;
    }
    if (pairs.length > 0) this._appendLines(this._lines(pairs, all));
    if (partialChanged) this._renderPartial();
    this._finish();
  }

  private _appendLines(html: string[]): void {
    let i = 0;
    const last = this.chunks.length - 1;
    if (last >= 0 && this.chunks[last] < CHUNK) {
      // Top up the last chunk first.
      i = Math.min(CHUNK - this.chunks[last], html.length);
      const chunk = this.body.lastElementChild as HTMLElement;
      chunk.insertAdjacentHTML('beforeend', html.slice(0, i).join(''));
      this.chunks[last] += i;
      chunk.style.containIntrinsicSize = chunkSize(this.chunks[last]);
    }
    if (i < html.length) {
      this.body.insertAdjacentHTML('beforeend', this._chunksHtml(i ? html.slice(i) : html));
    }
    // Drop whole chunks from the top while over the limit (chunks make this one cheap removal each).
    let over = this.weights.length - MAX_LINES;
    let dropped = 0;
    let height = 0;
    while (over > 0 && this.chunks.length > 1) {
      const n = this.chunks.shift()!;
      const chunk = this.body.firstElementChild as HTMLElement;
      if (!this.stick) height += chunk.offsetHeight;
      chunk.remove();
      over -= n;
      dropped += n;
    }
    for (const w of this.weights.splice(0, dropped)) this.shownWeight -= w;
    // Scrolled up: keep the same lines in view as the oldest ones go.
    if (height) this.pane.scrollTop -= height;
  }

  /** Each entry's HTML; records its weight as shown. */
  private _lines(pairs: Pair[], all: boolean): string[] {
    const out = new Array<string>(pairs.length);
    for (let i = 0; i < pairs.length; i++) {
      const [e, r] = pairs[i];
      out[i] = entryHtml(e, r, all);
      const w = weight(e);
      this.weights.push(w);
      this.shownWeight += w;
    }
    return out;
  }

  /**
   * Lines grouped in chunks of CHUNK: the browser skips layout and paint of
   * chunks out of view (content-visibility), so a new batch costs only itself.
   */
  private _chunksHtml(lines: string[]): string {
    let html = '';
    for (let i = 0; i < lines.length; i += CHUNK) {
      const part = lines.slice(i, i + CHUNK);
      html += `<div class="mltrain-chunk" style="contain-intrinsic-size:${chunkSize(part.length)}">${part.join('')}</div>`;
      this.chunks.push(part.length);
    }
    return html;
  }

  private _renderPartial(): void {
    let html = '';
    if (this.source === ALL) {
      for (const r of sortRanks(this.buffers.logs.keys())) {
        const p = this.buffers.logs.get(r)!.partial;
        if (p) html += `<div class="mltrain-line-partial">${rankPrefix(r)}${ansiToHtml(p)}</div>`;
      }
    } else {
      const p = this.buffers.logs.get(this.source)?.partial;
      if (p) html = `<div class="mltrain-line-partial">${ansiToHtml(p)}</div>`;
    }
    this.partial.innerHTML = html;
    this.partial.hidden = html === '';
  }

  private _finish(): void {
    const hidden = Math.max(0, this._total() - this.shownWeight);
    this.note.hidden = hidden === 0;
    if (hidden) this.note.textContent = `… ${fmtCount(hidden)} earlier lines not shown`;
    const lines = this.weights.length;
    this.empty.hidden = lines > 0 || !this.partial.hidden;
    this.count.textContent = lines ? `${fmtCount(this._total())} lines` : '';
    this._scroll();
  }

  /** Stop observing. */
  destroy(): void {
    this.resizer.disconnect();
  }

  private _scroll(): void {
    if (this.stick) this.pane.scrollTop = this.pane.scrollHeight;
    this.follow.hidden = this.stick;
  }

  private source = '0';
  private weights: number[] = []; // weight of each line element in the pane, oldest first
  private chunks: number[] = []; // line count of each chunk element in the pane
  private shownWeight = 0;
  private stick = true;
  private userAt = -1e9;
  private nRanks = 0;
  private options = '';
  private path = new LogPath();
  private select: HTMLSelectElement;
  private count: HTMLSpanElement;
  private note: HTMLDivElement;
  private body: HTMLDivElement;
  private partial: HTMLDivElement;
  private empty: HTMLDivElement;
  private pane: HTMLDivElement;
  private follow: HTMLButtonElement;
  private resizer: ResizeObserver;
}
