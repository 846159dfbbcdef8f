// The metric charts of one run, for the widget and the panel alike: controls (series shown,
// smoothing, log scale, x axis, every attempt), then a collapsible section per metric group.
import { h } from '../dom';
import { fmtValue } from '../format';
import { bandFill } from '../palette';
import { alignSeries, attemptLines, ISeries, MAX_RANK_LINES, sortRanks } from '../series';
import { IChartData, IChartLine, MetricChart } from './chart';
import {
  bandOf,
  effectiveXAxis,
  emaSmooth,
  groupMetrics,
  logSafe,
  timeSeries,
  XAxis,
  xValues
} from './transform';

/** What is drawn for several ranks: a line each, their mean, or the mean in a min–max band. */
export type SeriesMode = 'rank' | 'mean' | 'minmax';

/** Where a board reads a run's metrics. */
export interface IMetricSource {
  /** Metric names in first-seen order. */
  names(): string[];
  series(name: string): ReadonlyMap<string | number, ISeries> | undefined;
  xKind(name: string): 'step' | 'time';
  /** The epoch second time axes count from (wall time = it + x), or null. */
  origin(): number | null;
  /** What the series' point times (`t`) count from, in epoch seconds (absent: 0, `t` is epoch time). */
  timeBase?(): number;
  maxAttempt(): number;
}

/** The board's settings, shared by its charts. */
export interface IBoardSettings {
  mode: SeriesMode;
  smoothing: number;
  log: boolean;
  axis: XAxis;
  everyAttempt: boolean;
}

/** How a host drives its board. */
export interface IBoardOptions {
  /** Minimum time between two redraws (0: draw at once; the widget coalesces per frame itself). */
  redrawMs?: number;
  /** Whether the board can be drawn now (a hidden one is drawn when its host shows it again). */
  isVisible?: () => boolean;
}

let boards = 0;

function hasNumber(byRank: ReadonlyMap<string | number, ISeries>): boolean {
  for (const s of byRank.values()) for (const y of s.y) if (y !== null) return true;
  return false;
}

/** The chart data of one metric under `s` (pure but for the theme flag). */
export function chartData(
  name: string,
  byRank: ReadonlyMap<string | number, ISeries>,
  xKind: 'step' | 'time',
  origin: number | null,
  s: IBoardSettings,
  dark = false,
  timeBase = 0
): IChartData {
  // A metric logged by step goes on a time axis through its points' times, where they are known.
  const timed = xKind === 'step' && s.axis !== 'step' ? timeSeries(byRank, origin, timeBase) : null;
  if (timed) {
    byRank = timed;
    xKind = 'time';
  }
  const ranks = sortRanks(byRank.keys());
  const mode: SeriesMode = ranks.length > 1 ? s.mode : 'rank';
  const axis = effectiveXAxis(s.axis, xKind);
  let points = 0;
  for (const r of byRank.values()) points += r.x.length;
  let x: number[];
  let lines: IChartLine[];
  let band: IChartData['band'];
  if (s.everyAttempt) {
    const ls = attemptLines(byRank, mode !== 'rank', `mean of ${ranks.length} ranks`);
    const latest = Math.max(0, ...ls.map(l => l.attempt ?? 1));
    const [xs, ...ys] = alignSeries(ls.map(l => l.data));
    x = xs;
    lines = ls.map((l, i) => ({
      label: l.label,
      color: i,
      y: ys[i],
      dash: (l.attempt ?? 1) < latest ? [4, 3] : undefined
    }));
  } else if (mode === 'rank') {
    const [xs, ...ys] = alignSeries(ranks.map(r => byRank.get(r)!));
    x = xs;
    // A rank keeps its colour whatever else is drawn.
    lines = ranks.map((r, i) => ({ label: `rank ${r}`, color: Number(r) || 0, y: ys[i] }));
  } else {
    const b = bandOf(byRank);
    x = b.x;
    const label = `mean of ${ranks.length} ranks`;
    if (mode === 'mean') lines = [{ label, color: 0, y: b.mean }];
    else {
      lines = [
        { label: 'min', color: 0, y: b.lower, width: 1, alpha: dark ? 0.8 : 0.6 },
        { label: 'max', color: 0, y: b.upper, width: 1, alpha: dark ? 0.8 : 0.6 },
        { label, color: 0, y: b.mean }
      ];
      band = { upper: 1, lower: 0, fill: bandFill(0, dark) };
    }
  }
  if (s.smoothing > 0) {
    // The raw values stay as faint lines under the smoothed ones (not under a band's edges).
    const raw = band
      ? []
      : lines.map(l => ({ ...l, label: `${l.label} (raw)`, alpha: 0.25, width: 1, raw: true }));
    lines = [...lines.map(l => ({ ...l, y: emaSmooth(l.y, s.smoothing) })), ...raw];
  }
  if (s.log) lines = lines.map(l => ({ ...l, y: logSafe(l.y) }));
  return { x: xValues(x, axis, origin), lines, band, axis, log: s.log, yLabel: name, points };
}

/** The charts of a run, grouped, with their controls. */
export class ChartBoard {
  constructor(
    private readonly source: IMetricSource,
    private readonly options: IBoardOptions = {}
  ) {
    this.syncKey = `mltrain-board-${++boards}`;
    const select = (testid: string, label: string, options: [string, string][]) =>
      h(
        'select',
        { class: 'mltrain-chart-select', 'data-testid': testid, 'aria-label': label, title: label },
        ...options.map(([v, t]) => h('option', { value: v }, t))
      );
    this.modeSelect = select('mltrain-agg-select', 'Series shown', [
      ['rank', 'per rank'],
      ['mean', 'mean'],
      ['minmax', 'min–max band']
    ]);
    this.axisSelect = select('mltrain-x-axis', 'X axis', [
      ['step', 'step'],
      ['relative', 'relative time'],
      ['wall', 'wall time']
    ]);
    this.smoothing = h('input', {
      type: 'range',
      min: 0,
      max: 0.99,
      step: 0.01,
      value: 0,
      'data-testid': 'mltrain-smoothing',
      'aria-label': 'Smoothing'
    });
    this.smoothingValue = h('span', { class: 'mltrain-chart-smoothing-value' }, '0.00');
    this.logBox = h('input', { type: 'checkbox', 'data-testid': 'mltrain-log-scale' });
    this.attemptsBox = h('input', { type: 'checkbox', 'data-testid': 'mltrain-every-attempt' });
    this.attemptsLabel = h(
      'label',
      {
        class: 'mltrain-every-attempt',
        title:
          "Draw each attempt's values as its own line (else a step shows its latest attempt's)",
        hidden: true,
        style: 'display: none'
      },
      this.attemptsBox,
      ' every attempt'
    );
    const changed = (): void => {
      this.settings = {
        mode: this.modeSelect.value as SeriesMode,
        smoothing: Number(this.smoothing.value),
        log: this.logBox.checked,
        axis: this.axisSelect.value as XAxis,
        everyAttempt: this.attemptsBox.checked
      };
      this.smoothingValue.textContent = this.settings.smoothing.toFixed(2);
      this.update(null, true);
    };
    this.modeSelect.addEventListener('change', () => {
      this.modeChosen = true;
      changed();
    });
    for (const el of [this.axisSelect, this.logBox, this.attemptsBox]) {
      el.addEventListener('change', changed);
    }
    this.smoothing.addEventListener('input', changed);
    this.controls = h(
      'div',
      { class: 'mltrain-chart-controls', 'data-testid': 'mltrain-chart-controls' },
      this.modeSelect,
      h(
        'label',
        { title: 'Exponential moving average of each line' },
        'smoothing ',
        this.smoothing,
        this.smoothingValue
      ),
      h('label', { title: 'Logarithmic y axis (values ≤ 0 are gaps)' }, this.logBox, ' log'),
      h('label', null, 'x axis ', this.axisSelect),
      this.attemptsLabel
    );
    this.sections = h('div', { class: 'mltrain-chart-sections' });
    this.root = h('div', { class: 'mltrain-chart-board' }, this.controls, this.sections);
    this.themeObserver = new MutationObserver(() => {
      for (const c of this.charts.values()) c.invalidate();
      this.update(null, true);
    });
    this.themeObserver.observe(document.body, {
      attributes: true,
      attributeFilter: ['data-jp-theme-name', 'data-jp-theme-light']
    });
  }

  readonly root: HTMLDivElement;
  readonly controls: HTMLDivElement;
  settings: IBoardSettings = {
    mode: 'rank',
    smoothing: 0,
    log: false,
    axis: 'step',
    everyAttempt: false
  };

  /** How many charts are shown. */
  get size(): number {
    return this.charts.size;
  }

  /** The run's rank count: with many ranks, charts default to the mean. */
  setRanks(n: number): void {
    if (this.modeChosen) return;
    const m: SeriesMode = n > MAX_RANK_LINES ? 'mean' : 'rank';
    if (m !== this.settings.mode) {
      this.settings = { ...this.settings, mode: m };
      this.modeSelect.value = m;
      this.update(null, true);
    }
  }

  /** Redraw the charts of `names` (all when null), at most a few times a second; `now` skips the wait. */
  update(names: Iterable<string> | null, now = false): void {
    if (names === null) this.all = true;
    else for (const n of names) this.dirty.add(n);
    if (now) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this._draw();
      return;
    }
    if (this.timer) return;
    const wait = Math.max(0, this.lastDraw + (this.options.redrawMs ?? 0) - performance.now());
    if (wait === 0) {
      this._draw();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this._draw();
    }, wait);
  }

  /** Stop observing and free the plots. */
  destroy(): void {
    if (this.timer) clearTimeout(this.timer);
    this.themeObserver.disconnect();
    for (const c of this.charts.values()) c.destroy();
    this.charts.clear();
  }

  private _draw(): void {
    if (this.options.isVisible && !this.options.isVisible()) return; // drawn when shown again
    this.lastDraw = performance.now();
    // The hidden attribute alone loses to a stylesheet's display (the panel's label is a flex box).
    this.attemptsLabel.hidden = this.source.maxAttempt() <= 1;
    this.attemptsLabel.style.display = this.attemptsLabel.hidden ? 'none' : '';
    if (this.attemptsLabel.hidden && this.settings.everyAttempt) {
      this.settings = { ...this.settings, everyAttempt: false };
    }
    const names = this.source.names();
    const todo = this.all ? names : [...this.dirty];
    this.all = false;
    this.dirty.clear();
    let added = false;
    for (const name of todo) {
      const byRank = this.source.series(name);
      if (this.charts.has(name) || !byRank || !hasNumber(byRank)) continue; // e.g. strings: no chart
      const resetAll = (): void => this.charts.forEach(c => c.resetZoom());
      this.charts.set(name, new MetricChart(name, this.syncKey, name, resetAll));
      added = true;
    }
    if (added) this._layout(); // in the page before drawing: a plot takes its size from it
    const dark = document.body.dataset.jpThemeLight === 'false';
    const origin = this.source.origin();
    const timeBase = this.source.timeBase?.() ?? 0;
    for (const name of todo) {
      const byRank = this.source.series(name);
      const c = this.charts.get(name);
      if (!c || !byRank || byRank.size === 0) continue;
      const kind = this.source.xKind(name);
      const d = chartData(name, byRank, kind, origin, this.settings, dark, timeBase);
      const last = d.lines.find(l => l.alpha === undefined && !l.raw)?.y ?? [];
      let v: number | null = null;
      for (let i = last.length - 1; i >= 0 && v === null; i--) v = last[i];
      c.setLast(v === null ? '' : fmtValue(v));
      c.draw(d);
    }
  }

  /** Place each chart in its group's section, in first-seen order (a section per prefix). */
  private _layout(): void {
    const names = this.source.names().filter(n => this.charts.has(n));
    const groups = groupMetrics(names);
    const keep = new Set(groups.map(g => g.key));
    for (const [key, sec] of this.groupEls) {
      if (!keep.has(key)) {
        sec.remove();
        this.groupEls.delete(key);
      }
    }
    const order: HTMLElement[] = [];
    for (const g of groups) {
      let sec = this.groupEls.get(g.key);
      if (!sec) {
        sec = h(
          'details',
          {
            class: 'mltrain-chart-group',
            open: true,
            'data-testid': 'mltrain-chart-group',
            'data-group': g.key
          },
          h('summary', null, g.title, h('span', { class: 'mltrain-dim' })),
          h('div', { class: 'mltrain-chart-grid' })
        );
        this.groupEls.set(g.key, sec);
      }
      sec.querySelector('summary .mltrain-dim')!.textContent = ` ${g.names.length}`;
      const grid = sec.querySelector('.mltrain-chart-grid')!;
      grid.append(...g.names.map(n => this.charts.get(n)!.root));
      order.push(sec);
    }
    this.sections.append(...order);
  }

  private readonly syncKey: string;
  private charts = new Map<string, MetricChart>();
  private groupEls = new Map<string, HTMLDetailsElement>();
  private dirty = new Set<string>();
  private all = false;
  private modeChosen = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastDraw = 0;
  private sections: HTMLDivElement;
  private modeSelect: HTMLSelectElement;
  private axisSelect: HTMLSelectElement;
  private smoothing: HTMLInputElement;
  private smoothingValue: HTMLSpanElement;
  private logBox: HTMLInputElement;
  private attemptsBox: HTMLInputElement;
  private attemptsLabel: HTMLLabelElement;
  private themeObserver: MutationObserver;
}
