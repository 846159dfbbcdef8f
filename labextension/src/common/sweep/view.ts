// A sweep's views, for the notebook widget of its driver run and for the panel alike: a summary with
// "Cancel sweep", the sortable trials table, best-so-far, parallel coordinates and every trial's curve.
import { h } from '../dom';
import { fmtValue } from '../format';
import { isFinal } from '../statuses';
import { bestTrial, toSweep } from './model';
import { ParallelCoords } from './parcoords';
import { SweepPlots } from './plots';
import { TrialsTable } from './table';

/** What a host can do from the view. */
export interface ISweepViewOptions {
  /** Cancel the sweep (its driver stops every running trial); no button when absent. */
  onCancel?: () => void;
  /** Open a trial's run (rows are clickable when given). */
  onOpenRun?: (run: string) => void;
}

/** The whole sweep section; hidden until it is given a sweep. */
export class SweepView {
  constructor(private readonly options: ISweepViewOptions = {}) {
    this.summary = h('span', {
      class: 'mltrain-sweep-summary',
      'data-testid': 'mltrain-sweep-summary'
    });
    this.cancel = h(
      'button',
      {
        class: 'mltrain-button mltrain-sweep-cancel',
        'data-testid': 'mltrain-sweep-cancel',
        title: 'Stop the whole sweep: no new trials, and every running trial is canceled',
        hidden: true,
        onclick: () => {
          this.cancel.disabled = true;
          this.cancel.textContent = 'Canceling sweep…';
          this.options.onCancel?.();
        }
      },
      'Cancel sweep'
    );
    this.table = new TrialsTable(options.onOpenRun ?? null);
    this.plots = new SweepPlots();
    this.parcoords = new ParallelCoords();
    this.root = h(
      'div',
      { class: 'mltrain-section mltrain-sweep', 'data-testid': 'mltrain-sweep', hidden: true },
      h(
        'div',
        { class: 'mltrain-section-head mltrain-sweep-head' },
        h('span', { class: 'mltrain-section-title' }, 'Sweep'),
        this.summary,
        h('span', { class: 'mltrain-spacer' }),
        this.cancel
      ),
      this.table.root,
      this.plots.root,
      h('div', { class: 'mltrain-sweep-parcoords-wrap' }, this.parcoords.root)
    );
  }

  readonly root: HTMLDivElement;

  /** Draw `value` (a sweep record as sent; anything else hides the view). */
  update(value: unknown): void {
    const sweep = toSweep(value);
    this.root.hidden = sweep === null;
    if (!sweep) return;
    this.root.dataset.sweepId = sweep.id;
    this.root.dataset.status = sweep.status;
    const counts = new Map<string, number>();
    for (const t of sweep.trials) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
    const parts = [`${sweep.name}: ${sweep.trials.length} of ${sweep.budget} trials`, sweep.status];
    for (const s of ['Running', 'Pruned', 'Failed'])
      if (counts.get(s)) parts.push(`${counts.get(s)} ${s.toLowerCase()}`);
    const best = bestTrial(sweep.trials, sweep.goal);
    parts.push(
      best
        ? `best ${sweep.metric} ${fmtValue(best.value)} (#${best.trial})`
        : `${sweep.goal} ${sweep.metric}`
    );
    this.summary.textContent = parts.join(' · ');
    const live = !isFinal(sweep.status);
    this.cancel.hidden = !this.options.onCancel || !live;
    if (!live) this.cancelSettled();
    this.table.update(sweep);
    this.plots.update(sweep);
    this.parcoords.update(sweep);
  }

  /** The host has done (or dropped) the cancel: the button may be pressed again. */
  cancelSettled(): void {
    this.cancel.disabled = false;
    this.cancel.textContent = 'Cancel sweep';
  }

  destroy(): void {
    this.plots.destroy();
    this.parcoords.destroy();
    this.root.remove();
  }

  private summary: HTMLSpanElement;
  private cancel: HTMLButtonElement;
  private table: TrialsTable;
  private plots: SweepPlots;
  private parcoords: ParallelCoords;
}
