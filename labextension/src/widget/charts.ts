// Metric charts (one uPlot per metric, one series per rank or an aggregate over ranks)
// and the table of last values.
import uPlot from 'uplot';
import { h } from '../common/dom';
import { fmtDuration, fmtTimeTick, fmtValue } from '../common/format';
import { minMaxLines, seriesColor } from '../common/palette';
import {
  aggregateRanks,
  alignSeries,
  attemptLines,
  ISeries,
  MAX_RANK_LINES,
  meanOf,
  sortRanks
} from '../common/series';
import { RunBuffers } from './buffers';
import { sectionHead } from './section';
import { obj } from './traits';

const HEIGHT = 150;

type Mode = 'rank' | 'mean' | 'minmax';

interface IChartData {
  data: uPlot.AlignedData;
  labels: string[];
  mode: Mode;
  time: boolean;
  /** Each line's attempt when "every attempt" draws them (an earlier attempt's line is dashed). */
  attempts?: number[];
}

interface IChart {
  cell: HTMLDivElement;
  plot: HTMLDivElement;
  u: uPlot | null;
  sig: string;
}

function cssVar(el: Element, name: string, fallback: string): string {
  const v = getComputedStyle(el).getPropertyValue(name).trim();
  return v || fallback;
}

function hasNumber(byRank: Map<string, ISeries>): boolean {
  for (const s of byRank.values()) for (const y of s.y) if (y !== null) return true;
  return false;
}

/** The metrics section: a chart per metric, a select of what is drawn, the table of last values. */
export class Charts {
  /** `getCreated()` gives the run's `created` (epoch s) for time axes. */
  constructor(
    private readonly buffers: RunBuffers,
    private readonly getCreated: () => number | null
  ) {
    this.modeSelect = h(
      'select',
      {
        class: 'mltrain-agg-select',
        'data-testid': 'mltrain-agg-select',
        'aria-label': 'Series shown'
      },
      h('option', { value: 'rank' }, 'per rank'),
      h('option', { value: 'mean' }, 'mean'),
      h('option', { value: 'minmax' }, 'min–max')
    );
    this.modeSelect.addEventListener('change', () => {
      this.mode = this.modeSelect.value as Mode;
      this.modeChosen = true;
      this.update(null);
    });
    this.attemptsBox = h('input', {
      type: 'checkbox',
      'data-testid': 'mltrain-every-attempt'
    });
    this.attemptsBox.addEventListener('change', () => this.update(null));
    this.attemptsLabel = h(
      'label',
      {
        class: 'mltrain-every-attempt',
        title:
          "Draw each attempt's values as its own line (else a step shows its latest attempt's)",
        hidden: true
      },
      this.attemptsBox,
      ' every attempt'
    );
    this.grid = h('div', { class: 'mltrain-chart-grid' });
    this.empty = h('div', { class: 'mltrain-placeholder' }, 'No metrics logged yet.');
    this.table = h('table', {
      class: 'mltrain-metrics-table',
      'data-testid': 'mltrain-metrics-table',
      hidden: true
    });
    this.root = h(
      'div',
      { class: 'mltrain-section mltrain-metrics' },
      sectionHead('Metrics', 'mltrain-section-head', this.attemptsLabel, this.modeSelect),
      this.empty,
      this.grid,
      h('div', { class: 'mltrain-table-wrap' }, this.table)
    );

    this.resizer = new ResizeObserver(() => {
      if (this.resizeQueued) return;
      this.resizeQueued = true;
      requestAnimationFrame(() => {
        this.resizeQueued = false;
        this._resize();
      });
    });
    this.resizer.observe(this.grid);
    // Canvas colours are read from the theme: redraw when JupyterLab switches theme.
    this.themeObserver = new MutationObserver(() => this._recreate());
    this.themeObserver.observe(document.body, {
      attributes: true,
      attributeFilter: ['data-jp-theme-name', 'data-jp-theme-light']
    });
  }

  /** The section's element. */
  readonly root: HTMLDivElement;

  /** The run's rank count: with many ranks, charts default to the mean. */
  setRanks(n: number): void {
    if (this.modeChosen) return;
    const m: Mode = n > MAX_RANK_LINES ? 'mean' : 'rank';
    if (m !== this.mode) {
      this.mode = m;
      this.modeSelect.value = m;
      this.update(null);
    }
  }

  /** Redraw the charts of `metrics` (all when null). */
  update(metrics: Iterable<string> | null): void {
    const series = this.buffers.series;
    this.attemptsLabel.hidden = this.buffers.maxAttempt <= 1;
    const names = metrics ? [...metrics] : [...series.keys()];
    if (!metrics) {
      for (const name of [...this.charts.keys()]) if (!series.has(name)) this._remove(name);
    }
    for (const name of names) {
      const byRank = series.get(name);
      if (!byRank || byRank.size === 0) continue;
      if (!this.charts.has(name) && !hasNumber(byRank)) continue; // e.g. strings: the table shows them
      this._draw(name, byRank);
    }
    this.empty.hidden = this.charts.size > 0 || !this.table.hidden;
  }

  private _data(name: string, byRank: Map<string, ISeries>): IChartData {
    const ranks = sortRanks(byRank.keys());
    const time = this.buffers.xKind[name] === 'time';
    const created = this.getCreated();
    // Time axes count from the run's creation (x in epoch seconds).
    const shift = (xs: number[]): number[] =>
      time && created !== null ? xs.map(x => (x > 1e8 ? x - created : x)) : xs;
    const mode: Mode = ranks.length > 1 ? this.mode : 'rank';
    if (this.buffers.maxAttempt > 1 && this.attemptsBox.checked) {
      // Every attempt: a line per rank and attempt, or (mean, min–max) the mean of each attempt.
      const lines = attemptLines(byRank, mode !== 'rank');
      const [xs, ...ys] = alignSeries(lines.map(l => l.data));
      return {
        data: [shift(xs), ...ys],
        labels: lines.map(l => l.label),
        mode: mode === 'rank' ? 'rank' : 'mean',
        time,
        attempts: lines.map(l => l.attempt ?? 1)
      };
    }
    if (mode === 'rank') {
      const [xs, ...ys] = alignSeries(ranks.map(r => byRank.get(r)!));
      return { data: [shift(xs), ...ys], labels: ranks.map(r => `rank ${r}`), mode, time };
    }
    const a = aggregateRanks(byRank);
    if (mode === 'mean') return { data: [shift(a.x), a.mean], labels: ['mean'], mode, time };
    return { data: [shift(a.x), a.min, a.max, a.mean], labels: ['min', 'max', 'mean'], mode, time };
  }

  private _draw(name: string, byRank: Map<string, ISeries>): void {
    let c = this.charts.get(name);
    if (!c) {
      const plot = h('div', { class: 'mltrain-chart-plot' });
      const cell = h(
        'div',
        { class: 'mltrain-chart', 'data-testid': 'mltrain-chart', 'data-metric': name },
        h('div', { class: 'mltrain-chart-title', title: name }, name),
        plot
      );
      // Keep charts in first-seen order.
      this.grid.append(cell);
      c = { cell, plot, u: null, sig: '' };
      this.charts.set(name, c);
    }
    const d = this._data(name, byRank);
    let points = 0;
    for (const s of byRank.values()) points += s.x.length;
    c.cell.dataset.points = String(points); // points held for this metric, all ranks (tests read it)
    const sig = `${d.mode}|${d.time}|${d.labels.join(',')}`;
    if (c.u && c.sig === sig) {
      c.u.setData(d.data);
      return;
    }
    c.u?.destroy();
    c.sig = sig;
    c.u = new uPlot(this._opts(c, d), d.data, c.plot);
  }

  private _opts(c: IChart, d: IChartData): uPlot.Options {
    const fg = cssVar(this.root, '--jp-ui-font-color2', 'rgba(0,0,0,0.54)');
    const grid = cssVar(this.root, '--jp-border-color2', 'rgba(0,0,0,0.1)');
    const family = cssVar(this.root, '--jp-ui-font-family', 'system-ui, sans-serif');
    const font = `10px ${family}`;
    const axis = {
      stroke: fg,
      font,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1, size: 4 }
    };
    const fmtX = d.time ? fmtDuration : fmtValue;
    const value = (_u: uPlot, v: number | null): string => (v === null ? '–' : fmtValue(v));
    const line = { width: 1.5, value, spanGaps: true, points: { show: false } };
    const series: uPlot.Series[] = [
      {
        label: d.time ? 'time' : 'step',
        value: (_u: uPlot, v: number | null) => (v === null ? '–' : fmtX(v))
      }
    ];
    // Canvas colours do not follow CSS: the band's opacity is chosen for the theme's background.
    const mm = minMaxLines(0, document.body.dataset.jpThemeLight === 'false');
    if (d.mode === 'minmax') {
      for (const l of mm.lines) series.push({ ...line, ...l });
    } else {
      const latest = Math.max(0, ...(d.attempts ?? []));
      d.labels.forEach((label, i) => {
        const a = d.attempts?.[i];
        series.push({
          ...line,
          label,
          stroke: seriesColor(d.mode === 'mean' && !d.attempts ? 0 : i),
          dash: a !== undefined && a < latest ? [4, 3] : undefined
        });
      });
    }
    return {
      width: this._width(c),
      height: HEIGHT,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false }, points: { size: 5 } },
      scales: { x: { time: false } },
      bands: d.mode === 'minmax' ? [mm.band] : undefined,
      axes: [
        {
          ...axis,
          size: 30,
          values: (_u, vals, _ax, _space, incr) =>
            vals.map(v => (v === null ? '' : d.time ? fmtTimeTick(v, incr) : fmtValue(v)))
        },
        { ...axis, size: 50, values: (_u, vals) => vals.map(v => (v === null ? '' : fmtValue(v))) }
      ],
      series
    };
  }

  private _width(c: IChart): number {
    return Math.max(160, Math.floor(c.plot.clientWidth || c.cell.clientWidth || 320));
  }

  private _resize(): void {
    for (const c of this.charts.values()) {
      if (!c.u || c.cell.clientWidth === 0) continue;
      const w = this._width(c);
      if (Math.abs(w - c.u.width) > 1) c.u.setSize({ width: w, height: HEIGHT });
    }
  }

  private _recreate(): void {
    for (const c of this.charts.values()) {
      c.u?.destroy();
      c.u = null;
      c.sig = '';
    }
    this.update(null);
  }

  private _remove(name: string): void {
    const c = this.charts.get(name)!;
    c.u?.destroy();
    c.cell.remove();
    this.charts.delete(name);
  }

  /** Redraw the table of last values: one column per rank up to 8 ranks, else the mean. */
  setLastMetrics(last: unknown, nRanks: number): void {
    const m = obj(last);
    const names = Object.keys(m);
    this.table.hidden = names.length === 0;
    this.empty.hidden = this.charts.size > 0 || names.length > 0;
    if (names.length === 0) {
      this.table.replaceChildren();
      return;
    }
    const seen = new Set<string>();
    for (const n of names) for (const r of Object.keys(obj(m[n]))) seen.add(r);
    for (let r = 0; r < nRanks; r++) seen.add(String(r));
    const ranks = sortRanks(seen);
    const perRank = ranks.length <= MAX_RANK_LINES;
    const head = h(
      'tr',
      null,
      h('th', null, 'metric'),
      ...(perRank
        ? ranks.map(r => h('th', null, `rank ${r}`))
        : [h('th', null, `mean of ${ranks.length} ranks`)])
    );
    const rows = names.map(n => {
      const vals = obj(m[n]);
      const cells = perRank
        ? ranks.map(r => h('td', null, fmtValue(vals[r])))
        : [h('td', null, fmtValue(meanOf(Object.values(vals)) ?? Object.values(vals)[0]))];
      return h('tr', null, h('th', { scope: 'row', title: n }, n), ...cells);
    });
    this.table.replaceChildren(h('thead', null, head), h('tbody', null, ...rows));
  }

  /** Stop observing and free the plots. */
  destroy(): void {
    this.resizer.disconnect();
    this.themeObserver.disconnect();
    for (const c of this.charts.values()) c.u?.destroy();
    this.charts.clear();
  }

  private charts = new Map<string, IChart>(); // metric -> chart
  private mode: Mode = 'rank';
  private modeChosen = false;
  private resizeQueued = false;
  private modeSelect: HTMLSelectElement;
  private attemptsBox: HTMLInputElement;
  private attemptsLabel: HTMLLabelElement;
  private grid: HTMLDivElement;
  private empty: HTMLDivElement;
  private table: HTMLTableElement;
  private resizer: ResizeObserver;
  private themeObserver: MutationObserver;
}
