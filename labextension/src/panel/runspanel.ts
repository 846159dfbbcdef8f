// The left-area "Training" panel: every run grouped by experiment, live, with a
// filter, selection for compare, and the configured targets with their health.
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { IRunRecord, ITarget, MLTrainAPI } from './api';
import { attemptMark, statusLabel } from '../common/attempts';
import { h } from '../common/dom';
import { fmtDateTime, fmtDuration, fmtStarted, fmtValue } from '../common/format';
import { isFinal } from '../common/statuses';
import { mainMetric, runDuration, shortId, statusGlyph } from './format';
import { groupByExperiment, matchesFilter } from './records';
import { RunsModel } from './runsmodel';
import { SweepRows } from './sweeprows';

/** Command ids the panel calls (registered by the plugin). */
export const PanelCommands = {
  openRun: 'mltrain:open-run',
  compare: 'mltrain:compare',
  train: 'mltrain:train-notebook',
  models: 'mltrain:models',
  openSweep: 'mltrain:open-sweep'
};

/** The left-area "Training" panel. */
export class RunsPanel extends Widget {
  constructor(
    readonly model: RunsModel,
    readonly api: MLTrainAPI,
    readonly commands: CommandRegistry
  ) {
    super();
    this.id = 'mltrain-panel';
    this.addClass('mltrain-panel');
    this.title.caption = 'Training runs';

    this._conn = h('span', { class: 'mltrain-conn', 'data-testid': 'mltrain-connection' });
    this._compareBtn = h(
      'button',
      {
        class: 'mltrain-button',
        'data-testid': 'mltrain-compare-button',
        title: 'Overlay a metric of the selected runs and compare their parameters',
        onclick: () => void this._compare()
      },
      'Compare'
    );
    const trainBtn = h(
      'button',
      {
        class: 'mltrain-button mltrain-primary',
        'data-testid': 'mltrain-train-button',
        title: 'Train the active notebook on N processes',
        onclick: () => void this.commands.execute(PanelCommands.train)
      },
      '▶ Train notebook'
    );
    const modelsBtn = h(
      'button',
      {
        class: 'mltrain-button',
        'data-testid': 'mltrain-models-button',
        title: 'Registered models and model services',
        onclick: () => void this.commands.execute(PanelCommands.models)
      },
      'Models'
    );
    const refreshBtn = h(
      'button',
      {
        class: 'mltrain-button mltrain-icon-button',
        title: 'Reload the list',
        'aria-label': 'Reload the list',
        onclick: () => void this.model.refresh().catch(() => undefined)
      },
      '⟳'
    );
    this._filter = h('input', {
      type: 'search',
      class: 'mltrain-input mltrain-filter',
      placeholder: 'Filter: name, id, status:failed, target:…',
      'data-testid': 'mltrain-filter',
      'aria-label': 'Filter runs'
    });
    this._filter.addEventListener('input', () => this._render());
    this._error = h('div', { class: 'mltrain-error', hidden: true });
    this._list = h('div', { class: 'mltrain-runlist', 'data-testid': 'mltrain-runlist' });
    this._targets = h('div', { class: 'mltrain-targets', 'data-testid': 'mltrain-targets' });
    const targetsSection = h(
      'details',
      { class: 'mltrain-targets-section' },
      h(
        'summary',
        { 'data-testid': 'mltrain-targets-toggle' },
        'Targets',
        h(
          'button',
          {
            class: 'mltrain-button mltrain-icon-button',
            title: 'Check the targets again',
            onclick: (e: Event) => {
              e.preventDefault();
              void this.refreshTargets();
            }
          },
          '⟳'
        )
      ),
      this._targets
    );
    targetsSection.addEventListener('toggle', () => {
      if ((targetsSection as HTMLDetailsElement).open && !this._targetsLoaded) {
        void this.refreshTargets();
      }
    });
    this.node.append(
      h(
        'div',
        { class: 'mltrain-panel-header' },
        h('span', { class: 'mltrain-panel-title' }, 'Training'),
        this._conn,
        h('span', { class: 'mltrain-spacer' }),
        refreshBtn
      ),
      h('div', { class: 'mltrain-panel-actions' }, trainBtn, this._compareBtn, modelsBtn),
      this._filter,
      this._error,
      this._list,
      targetsSection
    );

    this._sweeps = new SweepRows(
      api,
      () => this._render(),
      id => {
        void this.commands.execute(PanelCommands.openSweep, { id });
      }
    );
    model.changed.connect(() => this._render());
    model.connectionChanged.connect(() => this._renderConnection());
    this._renderConnection();
    this._render();
  }

  /** Ids of the runs ticked for compare. */
  get selected(): string[] {
    return [...this._selected];
  }

  /** Set the filter text (also for tests and the restorer). */
  setFilter(text: string): void {
    this._filter.value = text;
    this._render();
  }

  async refreshTargets(): Promise<void> {
    this._targetsLoaded = true;
    this._targets.replaceChildren(h('div', { class: 'mltrain-empty' }, 'Checking targets…'));
    let targets: ITarget[];
    try {
      targets = await this.api.targets();
    } catch (err) {
      this._targets.replaceChildren(h('div', { class: 'mltrain-error' }, (err as Error).message));
      return;
    }
    this._targets.replaceChildren(...targets.map(renderTarget));
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.start();
    this._render();
    this._tick();
  }

  protected onBeforeHide(msg: Message): void {
    if (this._ticker) clearTimeout(this._ticker);
    this._ticker = null;
    super.onBeforeHide(msg);
  }

  dispose(): void {
    if (this._ticker) clearTimeout(this._ticker);
    this._sweeps.dispose();
    super.dispose();
  }

  /** Durations of live runs tick once a second while the panel is shown. */
  private _tick(): void {
    if (this._ticker) clearTimeout(this._ticker);
    this._ticker = setTimeout(() => {
      this._ticker = null;
      if (!this.isVisible) return;
      for (const [id, row] of this._rows) {
        const run = this.model.get(id);
        if (run && !isFinal(run.status)) {
          row.querySelector('.mltrain-row-duration')!.textContent = fmtDuration(runDuration(run));
        }
      }
      this._tick();
    }, 1000);
  }

  private _renderConnection(): void {
    const c = this.model.connection;
    this._conn.className = `mltrain-conn mltrain-conn-${c}`;
    this._conn.textContent = c === 'live' ? '● live' : c === 'polling' ? 'polling' : c;
    this._conn.title =
      c === 'live'
        ? 'Updates arrive as they happen'
        : c === 'polling'
          ? 'No websocket: the list is polled'
          : 'Connecting…';
  }

  private _render(): void {
    if (!this.isVisible && this._rendered) return;
    this._rendered = true;
    this._error.hidden = !this.model.error;
    this._error.textContent = this.model.error;
    const filter = this._filter.value;
    const runs = this.model.runs.filter(r => matchesFilter(r, filter));
    this._sweeps.note(this.model.runs);
    // Ticks of runs no longer listed are dropped.
    for (const id of this._selected) if (!this.model.get(id)) this._selected.delete(id);
    this._compareBtn.textContent = `Compare${this._selected.size ? ` (${this._selected.size})` : ''}`;
    (this._compareBtn as HTMLButtonElement).disabled = this._selected.size < 2;
    if (!runs.length) {
      this._list.replaceChildren(
        h(
          'div',
          { class: 'mltrain-empty' },
          !this.model.loaded
            ? 'Loading runs…'
            : this.model.runs.length
              ? 'No run matches the filter.'
              : 'No runs yet. Use ▶ Train notebook, %%train in a cell, or `mltrain submit`.'
        )
      );
      this._rows.clear();
      return;
    }
    const seen = new Set<string>();
    const children: HTMLElement[] = [];
    for (const [experiment, group] of groupByExperiment(runs)) {
      const collapsed = this._collapsed.has(experiment);
      const live = group.filter(r => !isFinal(r.status)).length;
      children.push(
        h(
          'div',
          {
            class: 'mltrain-group',
            'data-testid': 'mltrain-group',
            'data-experiment': experiment,
            role: 'button',
            'aria-expanded': String(!collapsed),
            onclick: () => {
              if (collapsed) this._collapsed.delete(experiment);
              else this._collapsed.add(experiment);
              this._render();
            }
          },
          h('span', { class: 'mltrain-caret' }, collapsed ? '▸' : '▾'),
          h('span', { class: 'mltrain-group-name' }, experiment),
          h(
            'span',
            { class: 'mltrain-group-count' },
            `${group.length}${live ? ` · ${live} live` : ''}`
          )
        )
      );
      if (collapsed) continue;
      for (const placed of this._sweeps.arrange(group)) {
        seen.add(placed.run.id);
        children.push(this._sweeps.decorate(this._row(placed.run), placed));
      }
    }
    for (const id of [...this._rows.keys()]) if (!seen.has(id)) this._rows.delete(id);
    this._list.replaceChildren(...children);
  }

  /** The row of a run, reused across renders so focus and hover survive updates. */
  private _row(run: IRunRecord): HTMLElement {
    let row = this._rows.get(run.id);
    if (!row) {
      const check = h('input', {
        type: 'checkbox',
        class: 'mltrain-row-check',
        'data-testid': 'mltrain-run-select',
        title: 'Select for compare',
        'aria-label': `Select ${run.name} for compare`
      }) as HTMLInputElement;
      check.addEventListener('click', e => e.stopPropagation());
      check.addEventListener('change', () => {
        if (check.checked) this._selected.add(run.id);
        else this._selected.delete(run.id);
        this._render();
      });
      row = h(
        'div',
        {
          class: 'mltrain-row',
          'data-testid': 'mltrain-run-row',
          'data-run-id': run.id,
          tabindex: 0,
          role: 'button',
          onclick: () => void this.commands.execute(PanelCommands.openRun, { id: run.id }),
          onkeydown: (e: Event) => {
            if ((e as KeyboardEvent).key === 'Enter') {
              void this.commands.execute(PanelCommands.openRun, { id: run.id });
            }
          }
        },
        check,
        h('span', { class: 'mltrain-status-glyph' }),
        h(
          'div',
          { class: 'mltrain-row-main' },
          h(
            'div',
            { class: 'mltrain-row-line1' },
            h('span', { class: 'mltrain-row-name', 'data-testid': 'mltrain-row-name' }),
            h('span', { class: 'mltrain-row-attempt', 'data-testid': 'mltrain-row-attempt' }),
            h('code', { class: 'mltrain-row-id', 'data-testid': 'mltrain-row-id' }),
            h(
              'span',
              { class: 'mltrain-row-metric', 'data-testid': 'mltrain-row-metric' },
              h('span', { class: 'mltrain-row-metric-name' }),
              h('span', { class: 'mltrain-row-metric-value' })
            )
          ),
          h(
            'div',
            { class: 'mltrain-row-line2' },
            h('span', { class: 'mltrain-row-target' }),
            h('span', { class: 'mltrain-row-ranks' }),
            h('span', { class: 'mltrain-row-started' }),
            h('span', { class: 'mltrain-row-duration' })
          )
        )
      );
      this._rows.set(run.id, row);
    }
    const q = (sel: string): HTMLElement => row!.querySelector(sel)!;
    row.dataset.status = run.status;
    const label = statusLabel(run.status, run.attempt);
    row.title = `${run.name} (${run.id})\n${label} on ${run.target}, ${run.ranks} rank(s), mode ${run.mode}\nstarted ${fmtDateTime(run.created)}${run.root_cause ? `\n${run.root_cause.message}` : ''}`;
    (row.querySelector('.mltrain-row-check') as HTMLInputElement).checked = this._selected.has(
      run.id
    );
    const glyph = q('.mltrain-status-glyph');
    glyph.textContent = statusGlyph(run.status);
    glyph.dataset.status = run.status;
    glyph.title = label;
    q('.mltrain-row-name').textContent = run.name;
    const mark = q('.mltrain-row-attempt');
    mark.textContent = attemptMark(run.attempt);
    mark.title = mark.textContent ? `attempt ${run.attempt}` : '';
    const short = q('.mltrain-row-id');
    short.textContent = shortId(run.id);
    short.title = run.id;
    // The metric gives way to the name: its name is cut with an ellipsis, its value stays.
    const mm = mainMetric(run.metrics);
    const value = mm ? fmtValue(run.metrics[mm]?.last) : '';
    q('.mltrain-row-metric-name').textContent = mm ?? '';
    q('.mltrain-row-metric-value').textContent = value;
    q('.mltrain-row-metric').title = mm ? `${mm} ${value}` : '';
    q('.mltrain-row-target').textContent = run.target;
    q('.mltrain-row-ranks').textContent = `${run.ranks}×`;
    q('.mltrain-row-ranks').title = `${run.ranks} rank(s)`;
    q('.mltrain-row-started').textContent = fmtStarted(run.created);
    q('.mltrain-row-duration').textContent = fmtDuration(runDuration(run));
    return row;
  }

  private async _compare(): Promise<void> {
    const ids = [...this._selected];
    if (ids.length < 1) return;
    await this.commands.execute(PanelCommands.compare, { ids });
  }

  private _rows = new Map<string, HTMLElement>();
  private _sweeps: SweepRows;
  private _selected = new Set<string>();
  private _collapsed = new Set<string>();
  private _rendered = false;
  private _targetsLoaded = false;
  private _ticker: ReturnType<typeof setTimeout> | null = null;
  private _conn: HTMLElement;
  private _compareBtn: HTMLElement;
  private _filter: HTMLInputElement;
  private _error: HTMLElement;
  private _list: HTMLElement;
  private _targets: HTMLElement;
}

/** One target with its health. */
export function renderTarget(t: ITarget): HTMLElement {
  const hl = t.health ?? { reachable: false, slots: null, gpus: [], message: '' };
  const gpus = Array.isArray(hl.gpus) ? hl.gpus.length : 0;
  return h(
    'div',
    {
      class: 'mltrain-target',
      'data-testid': 'mltrain-target',
      'data-target': t.name,
      'data-reachable': String(!!hl.reachable)
    },
    h(
      'span',
      {
        class: `mltrain-health ${hl.reachable ? 'mltrain-health-ok' : 'mltrain-health-bad'}`,
        title: hl.reachable ? 'reachable' : 'unreachable'
      },
      hl.reachable ? '●' : '●'
    ),
    h(
      'div',
      { class: 'mltrain-target-main' },
      h(
        'div',
        null,
        h('span', { class: 'mltrain-target-name' }, t.name),
        h('span', { class: 'mltrain-target-kind' }, ` ${t.kind}`)
      ),
      h(
        'div',
        { class: 'mltrain-target-detail' },
        [
          hl.slots !== null && hl.slots !== undefined ? `${hl.slots} slots` : null,
          `${gpus} GPU${gpus === 1 ? '' : 's'}`,
          hl.message || null
        ]
          .filter(Boolean)
          .join(' · ')
      ),
      t.source ? h('div', { class: 'mltrain-target-source', title: t.source }, t.source) : null
    )
  );
}
