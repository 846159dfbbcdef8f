// The widget's metrics section: the shared chart board (src/common/charts) over the widget's
// buffers, and the table of last values.
import { ChartBoard } from '../common/charts/board';
import { h } from '../common/dom';
import { fmtValue } from '../common/format';
import { MAX_RANK_LINES, meanOf, sortRanks } from '../common/series';
import { RunBuffers } from './buffers';
import { sectionHead } from './section';
import { obj } from './traits';

/** The metrics section: a chart per metric in groups, their controls, the table of last values. */
export class Charts {
  /** `getCreated()` gives the run's `created` (epoch s): time axes count from it. */
  constructor(
    private readonly buffers: RunBuffers,
    getCreated: () => number | null
  ) {
    this.board = new ChartBoard({
      names: () => [...this.buffers.series.keys()],
      series: name => this.buffers.series.get(name),
      xKind: name => (this.buffers.xKind[name] === 'time' ? 'time' : 'step'),
      origin: getCreated,
      // A step metric's point times come as seconds since created (compact); time axes need epoch.
      timeBase: () => getCreated() ?? 0,
      maxAttempt: () => this.buffers.maxAttempt
    });
    this.empty = h('div', { class: 'mltrain-placeholder' }, 'No metrics logged yet.');
    this.table = h('table', {
      class: 'mltrain-metrics-table',
      'data-testid': 'mltrain-metrics-table',
      hidden: true
    });
    this.root = h(
      'div',
      { class: 'mltrain-section mltrain-metrics' },
      sectionHead('Metrics', 'mltrain-section-head'),
      this.empty,
      this.board.root,
      h('div', { class: 'mltrain-table-wrap' }, this.table)
    );
  }

  /** The section's element. */
  readonly root: HTMLDivElement;

  /** The run's rank count: with many ranks, charts default to the mean. */
  setRanks(n: number): void {
    this.board.setRanks(n);
  }

  /** Redraw the charts of `metrics` (all when null). */
  update(metrics: Iterable<string> | null): void {
    this.board.update(metrics);
    this.empty.hidden = this.buffers.series.size > 0 || !this.table.hidden;
  }

  /** Redraw the table of last values: one column per rank up to 8 ranks, else the mean. */
  setLastMetrics(last: unknown, nRanks: number): void {
    const m = obj(last);
    const names = Object.keys(m);
    this.table.hidden = names.length === 0;
    this.empty.hidden = this.buffers.series.size > 0 || names.length > 0;
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
    this.board.destroy();
  }

  private board: ChartBoard;
  private empty: HTMLDivElement;
  private table: HTMLTableElement;
}
