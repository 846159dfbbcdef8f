// Line charts (uPlot): one per metric in the run view, one overlay in the compare view.
// Redraws are coalesced to a few per second however fast points arrive.
import { Message } from '@lumino/messaging';
import { Panel, Widget } from '@lumino/widgets';
import uPlot from 'uplot';
import { fmtDuration, fmtValue } from '../common/format';
import { seriesColor } from '../common/palette';
import {
  alignSeries,
  attemptLines,
  ILabelledSeries,
  MAX_RANK_LINES,
  meanOverRanks,
  sortRanks
} from '../common/series';
import { MetricStore } from './metrics';

const HEIGHT = 170;
/** Minimum time between two redraws of one chart. */
const REDRAW_MS = 250;

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

/** Options shared by every chart, in the theme's colours. */
function baseOptions(width: number, xKind: 'step' | 'time'): Omit<uPlot.Options, 'series'> {
  const fg = cssVar('--jp-ui-font-color2', '#666');
  const grid = cssVar('--jp-border-color2', '#e0e0e0');
  const font = `11px ${cssVar('--jp-ui-font-family', 'sans-serif')}`;
  const axis = (): uPlot.Axis => ({
    stroke: fg,
    font,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1 }
  });
  return {
    width,
    height: HEIGHT,
    scales: { x: { time: false } },
    legend: { show: true, live: true },
    cursor: { drag: { x: true, y: false } },
    axes: [
      {
        ...axis(),
        // Steps are whole numbers: no tick at step 0.5.
        incrs:
          xKind === 'step'
            ? [
                1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5,
                1e6, 1e7, 1e8
              ]
            : undefined,
        values: (_u, splits) => splits.map(v => (xKind === 'time' ? fmtDuration(v) : fmtValue(v)))
      },
      { ...axis(), size: 56, values: (_u, splits) => splits.map(v => fmtValue(v)) }
    ]
  };
}

/** A chart widget: a title, a uPlot and its data, redrawn when marked dirty. */
export class LineChart extends Widget {
  constructor(title: string, testid: string) {
    super();
    this.addClass('mltrain-chart');
    this.node.dataset.testid = testid;
    this.node.dataset.metric = title;
    this.node.dataset.points = '0';
    this._title = document.createElement('div');
    this._title.className = 'mltrain-chart-title';
    this._titleText = document.createElement('span');
    this._titleText.textContent = title;
    this._last = document.createElement('span');
    this._last.className = 'mltrain-chart-last';
    this._title.append(this._titleText, this._last);
    this._plotHost = document.createElement('div');
    this._plotHost.className = 'mltrain-chart-plot';
    this.node.append(this._title, this._plotHost);
  }

  /** Set what is drawn: series (each with a label) on x of the given kind. */
  setData(series: ILabelledSeries[], xKind: 'step' | 'time', last: string): void {
    this._series = series;
    this._xKind = xKind;
    this._last.textContent = last;
    this.node.dataset.points = String(series.reduce((n, s) => n + s.data.x.length, 0));
    this.node.dataset.series = String(series.filter(s => s.data.x.length > 0).length);
    this._dirty = true;
    this._schedule();
  }

  setTitle(t: string): void {
    this._titleText.textContent = t;
    this.node.dataset.metric = t;
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._dirty = true;
    this._schedule();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this._resizeObserver = new ResizeObserver(() => this._resize());
    this._resizeObserver.observe(this.node);
    this._dirty = true;
    this._schedule();
  }

  protected onBeforeDetach(msg: Message): void {
    this._resizeObserver?.disconnect();
    this._resizeObserver = null;
    super.onBeforeDetach(msg);
  }

  dispose(): void {
    if (this._timer) clearTimeout(this._timer);
    this._resizeObserver?.disconnect();
    this._plot?.destroy();
    this._plot = null;
    super.dispose();
  }

  private _width(): number {
    return Math.max(200, Math.floor(this.node.clientWidth - 8));
  }

  private _resize(): void {
    if (!this._plot || !this.isVisible) return;
    const w = this._width();
    if (w !== this._plot.width) this._plot.setSize({ width: w, height: HEIGHT });
  }

  private _schedule(): void {
    if (this._timer || !this.isAttached) return;
    const wait = Math.max(0, this._lastDraw + REDRAW_MS - performance.now());
    this._timer = setTimeout(() => {
      this._timer = null;
      this._draw();
    }, wait);
  }

  private _draw(): void {
    if (!this._dirty || !this.isVisible || this.isDisposed) return;
    this._dirty = false;
    this._lastDraw = performance.now();
    const data = alignSeries(this._series.map(s => s.data)) as uPlot.AlignedData;
    // What is on screen (tests wait for it; data-points is what arrived).
    this.node.dataset.drawnPoints = this.node.dataset.points;
    this.node.dataset.drawnMetric = this.node.dataset.metric;
    const shape = `${this._xKind}|${this._series.map(s => s.label).join('\u0000')}`;
    if (this._plot && shape === this._shape) {
      this._plot.setData(data);
      return;
    }
    this._plot?.destroy();
    this._shape = shape;
    const maxAttempt = Math.max(0, ...this._series.map(s => s.attempt ?? 0));
    const opts: uPlot.Options = {
      ...baseOptions(this._width(), this._xKind),
      series: [
        { label: this._xKind === 'time' ? 'time' : 'step', value: (_u, v) => fmtValue(v) },
        ...this._series.map((s, i) => ({
          label: s.label,
          stroke: seriesColor(i),
          width: 1.5,
          spanGaps: true,
          // An earlier attempt's trail is dashed under the attempt that took over.
          dash: s.attempt !== undefined && s.attempt < maxAttempt ? [4, 3] : undefined,
          value: (_u: uPlot, v: number | null) => fmtValue(v)
        }))
      ]
    };
    this._plot = new uPlot(opts, data, this._plotHost);
  }

  private _series: ILabelledSeries[] = [];
  private _xKind: 'step' | 'time' = 'step';
  private _shape = '';
  private _plot: uPlot | null = null;
  private _dirty = false;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _lastDraw = 0;
  private _resizeObserver: ResizeObserver | null = null;
  private _title: HTMLDivElement;
  private _titleText: HTMLSpanElement;
  private _last: HTMLSpanElement;
  private _plotHost: HTMLDivElement;
}

/** The run view's charts: one per metric, a line per rank (or their mean over ranks). */
export class MetricCharts extends Panel {
  constructor(readonly store: MetricStore) {
    super();
    this.addClass('mltrain-charts');
    this.node.dataset.testid = 'mltrain-charts';
    this._empty = new Widget();
    this._empty.addClass('mltrain-empty');
    this._empty.node.textContent =
      'No metrics yet. Training code logs them with jupyter_mltrain.log(name, value, step).';
    this.addWidget(this._empty);
    // "every attempt": shown once a restarted attempt logged a metric.
    this._attemptsBox = document.createElement('input');
    this._attemptsBox.type = 'checkbox';
    this._attemptsBox.dataset.testid = 'mltrain-every-attempt';
    this._attemptsBox.addEventListener('change', () => this.update());
    const label = document.createElement('label');
    label.title =
      "Draw each attempt's values as its own line (else a step shows its latest attempt's)";
    label.append(this._attemptsBox, ' every attempt');
    this._attempts = new Widget({ node: label });
    this._attempts.addClass('mltrain-every-attempt');
    this._attempts.setHidden(true);
    this.insertWidget(0, this._attempts);
    this._thinned = new Widget();
    this._thinned.addClass('mltrain-note');
    this._thinned.node.dataset.testid = 'mltrain-thinned';
    this._thinned.setHidden(true);
    this.addWidget(this._thinned);
  }

  /** Redraw the charts of these metrics (all when omitted). */
  update(names?: Iterable<string>): void {
    const restarted = this.store.maxAttempt > 1;
    this._attempts.setHidden(!restarted);
    const everyAttempt = restarted && this._attemptsBox.checked;
    const list = names ? [...names] : this.store.names;
    for (const name of list) {
      const byRank = this.store.series.get(name);
      if (!byRank) continue;
      let chart = this._charts.get(name);
      if (!chart) {
        chart = new LineChart(name, 'mltrain-chart');
        this._charts.set(name, chart);
        this.addWidget(chart);
      }
      const ranks = sortRanks(byRank.keys());
      const many = ranks.length > MAX_RANK_LINES;
      const meanLabel = `mean of ${ranks.length} ranks`;
      const series: ILabelledSeries[] = everyAttempt
        ? attemptLines(byRank, many, meanLabel)
        : many
          ? [{ label: meanLabel, data: meanOverRanks(byRank) }]
          : ranks.map(r => ({ label: `rank ${r}`, data: byRank.get(r)! }));
      const last = this.store.last(name);
      chart.setData(
        series,
        this.store.xKind.get(name) ?? 'step',
        last === null ? '' : fmtValue(last)
      );
    }
    this._empty.setHidden(this._charts.size > 0);
    const thinned = this.store.thinned;
    this._thinned.setHidden(thinned === 0);
    if (thinned) {
      this._thinned.node.textContent =
        `Drawn from a sample: ${thinned.toLocaleString()} values came faster than a chart can show ` +
        'and were left out here. Every value is kept with the run (Run.metrics(), mltrain metrics).';
    }
  }

  private _charts = new Map<string, LineChart>();
  private _attempts: Widget;
  private _attemptsBox: HTMLInputElement;
  private _empty: Widget;
  private _thinned: Widget;
}
