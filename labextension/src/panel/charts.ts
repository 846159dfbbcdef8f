// The panel's charts: the run view's board (the shared src/common/charts, as in the widget) and
// the compare view's overlay of one metric of several runs (the same chart).
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { ChartBoard } from '../common/charts/board';
import { MetricChart } from '../common/charts/chart';
import { alignSeries, ILabelledSeries } from '../common/series';
import { h } from '../common/dom';
import { MetricStore } from './metrics';

let overlays = 0;

/** One chart of labelled series (the compare view's overlay). */
export class LineChart extends Widget {
  constructor(title: string, testid: string) {
    super();
    this.addClass('mltrain-chart-host');
    this._chart = new MetricChart(title, `mltrain-overlay-${++overlays}`);
    this._chart.root.dataset.testid = testid;
    this.node.append(this._chart.root);
  }

  /** Set what is drawn: series (each with a label, and a colour number: else its place) on x of the given kind. */
  setData(
    series: (ILabelledSeries & { color?: number })[],
    xKind: 'step' | 'time',
    last: string
  ): void {
    this._series = series;
    this._xKind = xKind;
    this._chart.setLast(last);
    this._draw();
  }

  setTitle(t: string): void {
    this._chart.setTitle(t);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._draw();
  }

  dispose(): void {
    this._chart.destroy();
    super.dispose();
  }

  private _draw(): void {
    if (!this.isVisible) return;
    const [x, ...ys] = alignSeries(this._series.map(s => s.data));
    const points = this._series.reduce((n, s) => n + s.data.x.length, 0);
    this._chart.draw({
      x,
      lines: this._series.map((s, i) => ({ label: s.label, color: s.color ?? i, y: ys[i] })),
      axis: this._xKind === 'time' ? 'relative' : 'step',
      log: false,
      yLabel: this._chart.root.dataset.metric ?? '',
      points
    });
  }

  private _chart: MetricChart;
  private _series: (ILabelledSeries & { color?: number })[] = [];
  private _xKind: 'step' | 'time' = 'step';
}

/** The run view's charts: one per metric in groups, a line per rank (or their mean, or a band). */
export class MetricCharts extends Widget {
  constructor(readonly store: MetricStore) {
    super();
    this.addClass('mltrain-charts');
    this.node.dataset.testid = 'mltrain-charts';
    this._board = new ChartBoard(
      {
        names: () => store.names,
        series: name => store.series.get(name),
        xKind: name => store.xKind.get(name) ?? 'step',
        origin: () => store.t0,
        maxAttempt: () => store.maxAttempt
      },
      { redrawMs: 250, isVisible: () => this.isVisible }
    );
    this._empty = h(
      'div',
      { class: 'mltrain-empty' },
      'No metrics yet. Training code logs them with jupyter_mltrain.log(name, value, step).'
    );
    this._thinned = h('div', {
      class: 'mltrain-note',
      'data-testid': 'mltrain-thinned',
      hidden: true
    });
    this.node.append(this._board.root, this._empty, this._thinned);
  }

  /** Redraw the charts of these metrics (all when omitted). */
  update(names?: Iterable<string>): void {
    this._board.setRanks(this._ranks());
    this._board.update(names ? [...names] : null);
    this._empty.hidden = this.store.series.size > 0;
    const thinned = this.store.thinned;
    this._thinned.hidden = thinned === 0;
    if (thinned) {
      this._thinned.textContent =
        `Drawn from a sample: ${thinned.toLocaleString()} values came faster than a chart can show ` +
        'and were left out here. Every value is kept with the run (Run.metrics(), mltrain metrics).';
    }
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._board.update(null);
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this._board.update(null);
  }

  dispose(): void {
    this._board.destroy();
    super.dispose();
  }

  private _ranks(): number {
    let n = 0;
    for (const byRank of this.store.series.values()) n = Math.max(n, byRank.size);
    return n;
  }

  private _board: ChartBoard;
  private _empty: HTMLDivElement;
  private _thinned: HTMLDivElement;
}
