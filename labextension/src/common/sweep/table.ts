// The trials table of a sweep: one row per trial (number, params, status, the primary metric, step,
// duration), sorted by a click on a column's head (again: the other way); the best trial marked.
import { h } from '../dom';
import { fmtDuration, fmtParam, fmtValue } from '../format';
import { bestTrial, ISweep, ITrial, paramNames, SortKey, sortTrials } from './model';

function cellOf(v: unknown): string {
  return typeof v === 'number' ? fmtValue(v) : fmtParam(v);
}

/** The sortable table of trials; a click on a row opens its run (when the host can). */
export class TrialsTable {
  constructor(private readonly onOpen: ((run: string) => void) | null = null) {
    this.table = h('table', { class: 'mltrain-sweep-table', 'data-testid': 'mltrain-sweep-table' });
    this.root = h('div', { class: 'mltrain-table-wrap mltrain-sweep-table-wrap' }, this.table);
  }

  readonly root: HTMLDivElement;

  /** The column the rows are sorted by, and which way (1 ascending). */
  get sorting(): { key: SortKey; dir: 1 | -1 } {
    return { key: this.key, dir: this.dir };
  }

  /** Sort by `key`: ascending first (the metric: best first), the other way when already sorted by it. */
  sortBy(key: SortKey): void {
    if (this.key === key) this.dir = this.dir === 1 ? -1 : 1;
    else {
      this.key = key;
      this.dir = key === 'value' && this.sweep?.goal === 'max' ? -1 : 1;
    }
    if (this.sweep) this.update(this.sweep);
  }

  update(sweep: ISweep): void {
    this.sweep = sweep;
    const names = paramNames(sweep);
    const columns: [SortKey, string, string][] = [
      ['trial', '#', 'trial number'],
      ...names.map((n): [SortKey, string, string] => [`param:${n}`, n, `parameter ${n}`]),
      ['status', 'status', 'status (Pruned: stopped early by the pruner)'],
      ['value', sweep.metric, `${sweep.metric}: its last value (goal: ${sweep.goal})`],
      ['step', 'step', 'the step of that value'],
      ['duration', 'duration', 'how long the trial ran']
    ];
    const head = h(
      'tr',
      null,
      ...columns.map(([key, label, title]) => {
        const sorted = key === this.key;
        return h(
          'th',
          {
            'data-testid': 'mltrain-sweep-sort',
            'data-key': key,
            title: `${title}; click to sort`,
            'aria-sort': sorted ? (this.dir === 1 ? 'ascending' : 'descending') : 'none',
            class: sorted ? 'mltrain-sorted' : null,
            onclick: () => this.sortBy(key)
          },
          label,
          sorted ? (this.dir === 1 ? ' ▲' : ' ▼') : ''
        );
      })
    );
    const best = bestTrial(sweep.trials, sweep.goal);
    const rows = sortTrials(sweep.trials, this.key, this.dir).map(t =>
      this._row(t, names, t === best)
    );
    this.table.replaceChildren(h('thead', null, head), h('tbody', null, ...rows));
  }

  private _row(t: ITrial, names: string[], best: boolean): HTMLTableRowElement {
    const open = this.onOpen && t.run ? this.onOpen : null;
    return h(
      'tr',
      {
        'data-testid': 'mltrain-sweep-trial',
        'data-trial': t.trial,
        'data-run-id': t.run,
        'data-status': t.status,
        'data-best': best ? '1' : '0',
        class: `${best ? 'mltrain-sweep-best ' : ''}${open ? 'mltrain-clickable' : ''}`,
        title: open ? `Open run ${t.run}` : t.run,
        onclick: open ? () => open(t.run) : null
      },
      h(
        'td',
        null,
        best ? h('span', { class: 'mltrain-sweep-star', title: 'best trial' }, '★ ') : '',
        String(t.trial)
      ),
      ...names.map(n => h('td', null, cellOf(t.params[n]))),
      h('td', { class: 'mltrain-sweep-status', 'data-status': t.status }, t.status),
      h('td', null, fmtValue(t.value)),
      h('td', null, t.step === null ? '–' : String(t.step)),
      h('td', null, fmtDuration(t.duration))
    );
  }

  private key: SortKey = 'trial';
  private dir: 1 | -1 = 1;
  private sweep: ISweep | null = null;
  private table: HTMLTableElement;
}
