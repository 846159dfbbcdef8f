// Compare runs: one metric of each run overlaid on one chart, and a runs table of their
// parameters (differing ones first) and final metrics (the best marked) in column groups; a run
// has the same colour in both, and clicking its row shows or hides it in the overlay.
import { Poll } from '@lumino/polling';
import { Panel, Widget } from '@lumino/widgets';
import { IRunRecord, MLTrainAPI } from './api';
import { LineChart } from './charts';
import { h } from '../common/dom';
import { fmtDuration, fmtValue } from '../common/format';
import { ISeries, meanOverRanks, sortRanks } from '../common/series';
import { seriesColor } from '../common/palette';
import { isFinal } from '../common/statuses';
import { mainMetric, runTitle, statusGlyph } from './format';
import { compareTable, ISortKey, MetricStore, overlayRuns, runColors, sortRows } from './metrics';
import { RunsModel } from './runsmodel';

type RankMode = 'rank0' | 'mean';

/** Several runs side by side: one metric overlaid, params and final metrics in a table. */
export class CompareView extends Panel {
  constructor(
    readonly api: MLTrainAPI,
    readonly model: RunsModel,
    ids: string[],
    readonly openRun: (id: string) => void
  ) {
    super();
    this.ids = [...new Set(ids)];
    this.addClass('mltrain-compare');
    this.node.dataset.testid = 'mltrain-compare';
    this.title.label = `Compare ${this.ids.length} runs`;

    this._metricSelect = h('select', {
      class: 'mltrain-select',
      'data-testid': 'mltrain-compare-metric',
      'aria-label': 'Metric'
    });
    this._metricSelect.addEventListener('change', () => {
      this._metric = this._metricSelect.value;
      this._renderChart();
    });
    this._rankSelect = h(
      'select',
      { class: 'mltrain-select', 'data-testid': 'mltrain-compare-ranks', 'aria-label': 'Ranks' },
      h('option', { value: 'rank0' }, 'rank 0'),
      h('option', { value: 'mean' }, 'mean over ranks')
    );
    this._rankSelect.addEventListener('change', () => {
      this._rankMode = this._rankSelect.value as RankMode;
      this._renderChart();
    });
    const bar = new Widget({
      node: h(
        'div',
        { class: 'mltrain-toolbar mltrain-compare-toolbar' },
        h('label', null, 'Metric ', this._metricSelect),
        h('label', null, 'Ranks ', this._rankSelect),
        h(
          'label',
          { title: 'Hide the parameters that are the same in every run' },
          this._onlyDiffering,
          ' only differing params'
        ),
        h('span', { class: 'mltrain-spacer' }),
        h('button', { class: 'mltrain-button', onclick: () => void this.refresh() }, 'Refresh')
      )
    });
    this._onlyDiffering.addEventListener('change', () => this._renderTable());
    this._chart = new LineChart('', 'mltrain-compare-chart');
    this._table = new Widget({ node: h('div', { class: 'mltrain-compare-table-wrap' }) });
    this.addWidget(bar);
    this.addWidget(this._chart);
    this.addWidget(this._table);

    // Live runs change: refresh while any is live and the view is shown.
    this._poll = new Poll({
      auto: false,
      factory: () => this.refresh(),
      frequency: { interval: 5000, backoff: true, max: 60000 },
      standby: 'when-hidden',
      name: 'mltrain:compare'
    });
    void this.refresh();
  }

  readonly ids: string[];

  /** Reload each run's record and metric points. */
  async refresh(): Promise<void> {
    const results = await Promise.all(
      this.ids.map(async id => {
        try {
          const [detail, points] = await Promise.all([this.api.getRun(id), this.api.metrics(id)]);
          const store = new MetricStore();
          store.load(points);
          return { run: detail.run, store, error: '' };
        } catch (err) {
          const known = this.model.get(id);
          return {
            run: known ?? null,
            store: new MetricStore(),
            error: `${id}: ${(err as Error).message}`
          };
        }
      })
    );
    this._runs = [];
    this._stores = new Map();
    this._errors = [];
    for (const r of results) {
      if (r.error) this._errors.push(r.error);
      if (r.run) {
        this._runs.push(r.run);
        this._stores.set(r.run.id, r.store);
      }
    }
    this._renderMetricOptions();
    this._renderChart();
    this._renderTable();
    const live = this._runs.some(r => !isFinal(r.status));
    if (live && this._poll.isDisposed === false) void this._poll.start();
    if (!live) void this._poll.stop();
  }

  dispose(): void {
    this._poll.dispose();
    super.dispose();
  }

  private _metricNames(): string[] {
    const names = new Set<string>();
    for (const s of this._stores.values()) for (const n of s.names) names.add(n);
    return [...names].sort();
  }

  private _renderMetricOptions(): void {
    const names = this._metricNames();
    if (!this._metric || !names.includes(this._metric)) {
      const counts: Record<string, number> = {};
      for (const n of names) counts[n] = 1;
      this._metric = mainMetric(counts) ?? '';
    }
    this._metricSelect.replaceChildren(...names.map(n => h('option', { value: n }, n)));
    this._metricSelect.value = this._metric;
  }

  private _renderChart(): void {
    const m = this._metric;
    const series: { label: string; data: ISeries; color: number }[] = [];
    let xKind: 'step' | 'time' = 'step';
    const byId = new Map(this._runs.map(r => [r.id, r]));
    for (const { id, color } of overlayRuns(this.ids, this._hidden)) {
      const run = byId.get(id);
      const store = this._stores.get(id);
      if (!run) continue;
      const byRank = store?.series.get(m);
      if (!store || !byRank || byRank.size === 0) continue;
      xKind = store.xKind.get(m) ?? xKind;
      const ranks = sortRanks(byRank.keys());
      const data = this._rankMode === 'mean' ? meanOverRanks(byRank) : byRank.get(ranks[0])!;
      series.push({ label: runTitle(run), data, color });
    }
    this._chart.setTitle(
      m ? `${m} (${this._rankMode === 'mean' ? 'mean over ranks' : 'rank 0'})` : 'No metrics'
    );
    this._chart.setData(series, xKind, '');
  }

  private _renderTable(): void {
    const t = compareTable(this._runs);
    if (this._onlyDiffering.checked) t.params = t.params.filter(p => t.differing.has(p));
    t.rows = this._sort ? sortRows(t.rows, this._sort) : t.rows;
    const sortable = (key: ISortKey, attrs: Record<string, string | null>, label: string) => {
      const on = this._sort?.kind === key.kind && this._sort?.name === key.name;
      return h(
        'th',
        {
          ...attrs,
          class: `${attrs.class ?? ''} mltrain-sortable`.trim(),
          'aria-sort': on ? (this._sort!.descending ? 'descending' : 'ascending') : null,
          onclick: () => {
            this._sort = { ...key, descending: on ? !this._sort!.descending : false };
            this._renderTable();
          }
        },
        label,
        on ? (this._sort!.descending ? ' ▼' : ' ▲') : ''
      );
    };
    // Params and metrics under their own group headers, a name in both titled by its kind.
    const groups = h(
      'tr',
      { class: 'mltrain-compare-groups' },
      h('th', { colspan: 3, class: 'mltrain-group-run', scope: 'colgroup' }, 'Run'),
      t.params.length
        ? h(
            'th',
            { colspan: t.params.length, class: 'mltrain-group-params', scope: 'colgroup' },
            'Parameters'
          )
        : null,
      t.metrics.length
        ? h(
            'th',
            { colspan: t.metrics.length, class: 'mltrain-group-metrics', scope: 'colgroup' },
            'Final metrics'
          )
        : null
    );
    const head = h(
      'tr',
      null,
      sortable({ kind: 'name' }, {}, 'run'),
      sortable({ kind: 'status' }, {}, 'status'),
      sortable({ kind: 'duration' }, {}, 'duration'),
      ...t.params.map((p, i) =>
        sortable(
          { kind: 'param', name: p },
          {
            class: `mltrain-param-col${t.differing.has(p) ? ' mltrain-differs' : ''}${i === 0 ? ' mltrain-group-start' : ''}`,
            'data-kind': 'param',
            'data-name': p,
            title: `parameter ${p}: ${t.differing.has(p) ? 'differs between runs' : 'same in every run'}`
          },
          t.paramLabels[p]
        )
      ),
      ...t.metrics.map((m, i) =>
        sortable(
          { kind: 'metric', name: m },
          {
            class: `mltrain-metric-col${i === 0 ? ' mltrain-group-start' : ''}`,
            'data-kind': 'metric',
            'data-name': m,
            title: `metric ${m}: the run's last value`
          },
          t.metricLabels[m]
        )
      )
    );
    const colors = runColors(this.ids);
    const rows = t.rows.map(r =>
      h(
        'tr',
        {
          'data-testid': 'mltrain-compare-row',
          'data-run-id': r.id,
          'data-shown': String(!this._hidden.has(r.id)),
          title: 'Click to show or hide this run in the chart',
          onclick: (e: Event) => {
            if ((e.target as HTMLElement).closest('a')) return; // the link opens the run
            if (!this._hidden.delete(r.id)) this._hidden.add(r.id);
            this._renderChart();
            this._renderTable();
          }
        },
        h(
          'td',
          null,
          h('span', {
            class: 'mltrain-compare-swatch',
            'data-testid': 'mltrain-compare-swatch',
            style: `background: ${seriesColor(colors.get(r.id) ?? 0)}`
          }),
          h(
            'a',
            {
              href: '#',
              class: 'mltrain-link',
              onclick: (e: Event) => {
                e.preventDefault();
                this.openRun(r.id);
              }
            },
            r.name
          ),
          h('div', { class: 'mltrain-subtle' }, r.id)
        ),
        h('td', { 'data-status': r.status }, `${statusGlyph(r.status, '')} ${r.status}`),
        h('td', { class: 'mltrain-num' }, fmtDuration(r.duration)),
        ...t.params.map((p, i) =>
          h(
            'td',
            {
              class:
                [t.differing.has(p) ? 'mltrain-differs' : '', i === 0 ? 'mltrain-group-start' : '']
                  .filter(Boolean)
                  .join(' ') || null,
              'data-kind': 'param'
            },
            r.params[p]
          )
        ),
        ...t.metrics.map((m, i) =>
          h(
            'td',
            {
              class: `mltrain-num${t.best.get(m) === r.id ? ' mltrain-best' : ''}${i === 0 ? ' mltrain-group-start' : ''}`,
              'data-kind': 'metric',
              title: t.best.get(m) === r.id ? 'best final value of the completed runs' : null
            },
            fmtValue(r.metrics[m])
          )
        )
      )
    );
    this._table.node.replaceChildren(
      ...this._errors.map(e => h('div', { class: 'mltrain-error' }, e)),
      h(
        'table',
        { class: 'mltrain-table mltrain-compare-table', 'data-testid': 'mltrain-compare-table' },
        h('thead', null, groups, head),
        h('tbody', null, ...rows)
      ),
      h(
        'div',
        { class: 'mltrain-subtle' },
        'Metric columns show each run\u2019s last value; the best of the completed runs is marked. ' +
          'Click a row to show or hide its run in the chart.'
      )
    );
  }

  private _runs: IRunRecord[] = [];
  private _hidden = new Set<string>();
  private _sort: ISortKey | null = null;
  private _onlyDiffering = h('input', {
    type: 'checkbox',
    'data-testid': 'mltrain-only-differing'
  });
  private _stores = new Map<string, MetricStore>();
  private _errors: string[] = [];
  private _metric = '';
  private _rankMode: RankMode = 'rank0';
  private _metricSelect: HTMLSelectElement;
  private _rankSelect: HTMLSelectElement;
  private _chart: LineChart;
  private _table: Widget;
  private _poll: Poll;
}
