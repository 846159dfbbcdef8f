// Sweeps in the panel's run list: which run is a sweep's driver or trial (the run's `sweep` field, its
// params, or `GET sweeps`), the trials nested under their driver's row, its expander and "Sweep" button.
import { h } from '../common/dom';
import { IPlaced, ISweepMark, nestSweeps } from '../common/sweep/nest';
import { isFinal } from '../common/statuses';
import { IRunRecord, MLTrainAPI } from './api';
import { listSweeps, marksOf } from './sweepapi';

/** How often the sweeps are listed again while a sweep runs (its new trials join it). */
const LIVE_MS = 3000;

/** Nests sweeps' trials under their driver rows; `onChange` asks the list to render again. */
export class SweepRows {
  constructor(
    private readonly api: MLTrainAPI,
    private readonly onChange: () => void,
    private readonly openSweep: (id: string) => void
  ) {}

  /** A run's sweep and role, as far as known. */
  markOf(run: IRunRecord): ISweepMark | null {
    if (run.sweep) return run.sweep;
    const known = this.marks.get(run.id);
    if (known) return known;
    const id = run.params?.sweep;
    if (typeof id === 'string' && id.startsWith('sweep-'))
      return { id, role: 'driver', trial: null };
    const sweep = run.parent ? this.drivers.get(run.parent) : undefined;
    if (sweep === undefined) return null;
    const n = /-t(\d+)$/.exec(run.name); // the driver names its trials NAME-tN
    return { id: sweep, role: 'trial', trial: n ? Number(n[1]) : null };
  }

  /** The runs of one group in list order, trials nested (see `nestSweeps`). */
  arrange(runs: readonly IRunRecord[]): IPlaced<IRunRecord>[] {
    for (const r of runs) {
      const id = r.params?.sweep; // a driver: its trials name it as their parent, live
      if (typeof id === 'string' && id.startsWith('sweep-')) this.drivers.set(r.id, id);
    }
    return nestSweeps(
      runs,
      r => this.markOf(r),
      id => this.expanded.has(id)
    );
  }

  /** Every listed run, at each render: list the sweeps again when a run is new, or a sweep still runs. */
  note(runs: readonly IRunRecord[]): void {
    let fresh = false;
    let live = false;
    for (const r of runs) {
      if (!this.seen.has(r.id)) {
        this.seen.add(r.id);
        fresh = true;
      }
      if (!isFinal(r.status) && this.markOf(r)?.role === 'driver') live = true;
    }
    if (fresh || (live && Date.now() - this.fetched > LIVE_MS)) this._fetch();
    if (live && this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.onChange();
      }, LIVE_MS);
    }
  }

  /** Add a placed run's sweep parts to its row (kept across renders). */
  decorate(row: HTMLElement, placed: IPlaced<IRunRecord>): HTMLElement {
    const m = placed.mark;
    row.classList.toggle('mltrain-row-sweep-trial', placed.depth === 1);
    row.dataset.sweepRole = m?.role ?? '';
    let badge = row.querySelector<HTMLElement>('.mltrain-sweep-badge');
    if (m && !badge) {
      badge = h('span', { class: 'mltrain-sweep-badge', 'data-testid': 'mltrain-sweep-badge' });
      row.querySelector('.mltrain-row-name')?.after(badge);
    }
    if (badge) {
      badge.hidden = !m;
      badge.textContent = !m
        ? ''
        : m.role === 'trial'
          ? `#${m.trial ?? '?'}`
          : `${placed.trials} trials`;
      badge.title = !m ? '' : m.role === 'trial' ? `trial ${m.trial} of ${m.id}` : `sweep ${m.id}`;
    }
    const driver = m?.role === 'driver' && placed.depth === 0;
    let expander = row.querySelector<HTMLButtonElement>('.mltrain-sweep-expander');
    let open = row.querySelector<HTMLButtonElement>('.mltrain-sweep-open');
    if (driver && !expander) {
      expander = h('button', {
        class: 'mltrain-sweep-expander',
        'data-testid': 'mltrain-sweep-expander'
      });
      expander.addEventListener('click', e => {
        e.stopPropagation();
        const id = row.dataset.sweepId!;
        if (!this.expanded.delete(id)) this.expanded.add(id);
        this.onChange();
      });
      row.prepend(expander);
      open = h('button', {
        class: 'mltrain-button mltrain-sweep-open',
        'data-testid': 'mltrain-sweep-open',
        title: 'Open the sweep: its trials table, best so far, parallel coordinates and curves'
      });
      open.textContent = 'Sweep';
      open.addEventListener('click', e => {
        e.stopPropagation();
        this.openSweep(row.dataset.sweepId!);
      });
      (row.querySelector('.mltrain-row-line2') ?? row).append(open); // line 1 keeps its room for the name
    }
    if (expander && open) {
      expander.hidden = open.hidden = !driver;
      const shown = driver && this.expanded.has(m!.id);
      expander.textContent = shown ? '▾' : '▸';
      expander.setAttribute('aria-expanded', String(shown));
      expander.title = shown ? 'Hide the trials' : `Show the ${placed.trials} trials`;
    }
    row.dataset.sweepId = m?.id ?? '';
    return row;
  }

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private _fetch(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.fetched = Date.now();
    listSweeps(this.api)
      .then(sweeps => {
        const marks = marksOf(sweeps);
        const changed =
          marks.size !== this.marks.size ||
          [...marks].some(([k, v]) => this.marks.get(k)?.id !== v.id);
        this.marks = marks;
        if (changed) this.onChange();
      })
      .catch(() => undefined) // an older server without sweeps: drivers are still known by their params
      .finally(() => {
        this.busy = false;
        if (this.again) {
          this.again = false;
          this._fetch();
        }
      });
  }

  private marks = new Map<string, ISweepMark>();
  private drivers = new Map<string, string>(); // driver run id → its sweep
  private seen = new Set<string>();
  private expanded = new Set<string>();
  private busy = false;
  private again = false;
  private fetched = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
}
