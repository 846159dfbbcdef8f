// One run, live: header (status, stage timeline, progress, actions), root cause,
// then tabs: logs beside metric charts, outputs, details.
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import { Panel, SplitPanel, Widget } from '@lumino/widgets';
import { ansiToHtml } from './ansi';
import { IRunFile, IRunRecord, MLTrainAPI } from './api';
import { MetricCharts } from './charts';
import { h, saveBlob } from './dom';
import {
  fmtBytes,
  fmtDateTime,
  fmtDuration,
  fmtParam,
  fmtStarted,
  fmtValue,
  isFinal,
  mainMetric,
  runDuration,
  STATUS_GLYPH
} from './format';
import { LogView } from './logview';
import { IProgress, MetricStore } from './metrics';
import { rootCauseHeadline, timeline } from './records';
import { RunsModel } from './runsmodel';
import { ConnectionState, RunStream } from './stream';

/** Command ids the run view calls (registered by the plugin). */
export const RunCommands = {
  rerun: 'mltrain:rerun',
  insertAttach: 'mltrain:insert-attach',
  openRun: 'mltrain:open-run'
};

export interface IRunViewOptions {
  api: MLTrainAPI;
  id: string;
  model: RunsModel;
  commands: CommandRegistry;
}

class Header extends Widget {
  constructor(private readonly view: RunView) {
    super();
    this.addClass('mltrain-run-header');
  }

  render(run: IRunRecord | null, store: MetricStore, conn: ConnectionState): void {
    const progress = store.progress;
    const n = this.node;
    n.replaceChildren();
    if (!run) {
      n.append(h('div', { class: 'mltrain-empty' }, 'Loading run…'));
      return;
    }
    const final = isFinal(run.status);
    // The streamed value is fresher than the record's summary.
    const mm =
      mainMetric(run.metrics) ?? mainMetric(Object.fromEntries(store.names.map(k => [k, 1])));
    const last = mm ? (store.last(mm) ?? run.metrics[mm]?.last ?? null) : null;
    n.append(
      h(
        'div',
        { class: 'mltrain-run-titlebar' },
        h(
          'span',
          {
            class: 'mltrain-status',
            'data-status': run.status,
            'data-testid': 'mltrain-run-status',
            title: run.status
          },
          h('span', { class: 'mltrain-status-glyph' }, STATUS_GLYPH[run.status] ?? '•'),
          ` ${run.status}`
        ),
        h('h2', { class: 'mltrain-run-name', title: run.name }, run.name),
        h('code', { class: 'mltrain-run-id', title: 'Run id' }, run.id),
        h(
          'span',
          {
            class: `mltrain-conn mltrain-conn-${conn}`,
            title:
              conn === 'live'
                ? 'Streaming live'
                : conn === 'polling'
                  ? 'No websocket: polling the server'
                  : conn === 'ended'
                    ? 'Everything the run produced has been received'
                    : conn
          },
          conn === 'ended' ? '' : conn
        ),
        h('span', { class: 'mltrain-spacer' }),
        this._actions(run, final)
      ),
      h(
        'div',
        { class: 'mltrain-run-meta' },
        metaItem('experiment', run.experiment),
        metaItem('target', run.target),
        metaItem('ranks', String(run.ranks)),
        metaItem('mode', run.mode),
        metaItem('started', fmtStarted(run.created), fmtDateTime(run.created)),
        h(
          'span',
          { class: 'mltrain-meta' },
          h('span', { class: 'mltrain-meta-key' }, 'duration'),
          h(
            'span',
            { class: 'mltrain-meta-value', 'data-testid': 'mltrain-run-duration' },
            fmtDuration(runDuration(run))
          )
        ),
        mm ? metaItem(mm, fmtValue(last)) : null
      ),
      this._timeline(run)
    );
    if (progress) n.append(this._progress(run, progress));
    if (run.root_cause) n.append(this._rootCause(run));
  }

  private _actions(run: IRunRecord, final: boolean): HTMLElement {
    const v = this.view;
    return h(
      'span',
      { class: 'mltrain-actions' },
      h(
        'button',
        {
          class: 'mltrain-button mltrain-danger',
          'data-testid': 'mltrain-run-cancel',
          disabled: final,
          title: final ? 'The run has ended' : 'Stop every rank of this run',
          onclick: () => void v.cancel()
        },
        'Cancel'
      ),
      h(
        'button',
        {
          class: 'mltrain-button',
          'data-testid': 'mltrain-run-rerun',
          title: 'Start this run again with the same code snapshot and options',
          onclick: () => void v.commands.execute(RunCommands.rerun, { id: run.id })
        },
        'Rerun'
      ),
      h(
        'button',
        {
          class: 'mltrain-button',
          'data-testid': 'mltrain-run-attach',
          title: 'Insert a cell with %train_attach into the active notebook',
          onclick: () => void v.commands.execute(RunCommands.insertAttach, { id: run.id })
        },
        'Attach in notebook'
      )
    );
  }

  private _timeline(run: IRunRecord): HTMLElement {
    const items = timeline(run);
    return h(
      'div',
      { class: 'mltrain-timeline', 'data-testid': 'mltrain-timeline' },
      ...items.map(t =>
        h(
          'div',
          {
            class: `mltrain-stage${t.current ? ' mltrain-stage-current' : ''}`,
            'data-stage': t.stage,
            title: `${t.stage} at ${fmtDateTime(t.start)}`,
            style: `flex-grow: ${Math.max(1, Math.log2(2 + (t.duration ?? 0)))}`
          },
          h('span', { class: 'mltrain-stage-name' }, t.stage),
          h(
            'span',
            { class: 'mltrain-stage-time' },
            t.duration !== null ? fmtDuration(t.duration) : fmtStarted(t.start)
          )
        )
      )
    );
  }

  private _progress(run: IRunRecord, p: IProgress): HTMLElement {
    const frac = p.total ? Math.min(1, Math.max(0, p.step / p.total)) : null;
    let eta = '';
    const start = run.stages?.Running;
    if (frac !== null && frac > 0 && frac < 1 && start && !isFinal(run.status)) {
      const elapsed = p.time - start;
      if (elapsed > 0) eta = ` · about ${fmtDuration((elapsed / frac) * (1 - frac))} left`;
    }
    return h(
      'div',
      { class: 'mltrain-progress', 'data-testid': 'mltrain-progress' },
      h(
        'div',
        { class: 'mltrain-progress-track' },
        h('div', {
          class: 'mltrain-progress-fill',
          style: frac === null ? 'width: 100%; opacity: .3' : `width: ${(frac * 100).toFixed(1)}%`
        })
      ),
      h(
        'span',
        { class: 'mltrain-progress-text' },
        p.total
          ? `step ${p.step} / ${p.total} (${((frac ?? 0) * 100).toFixed(0)}%)${eta}`
          : `step ${p.step}`
      )
    );
  }

  private _rootCause(run: IRunRecord): HTMLElement {
    const rc = run.root_cause!;
    const pre = (text: string, cls: string): HTMLElement => {
      const el = h('pre', { class: cls });
      el.innerHTML = text.split('\n').map(ansiToHtml).join('\n');
      return el;
    };
    const headline = rootCauseHeadline(rc);
    return h(
      'div',
      { class: 'mltrain-root-cause', 'data-testid': 'mltrain-root-cause', role: 'alert' },
      h('div', { class: 'mltrain-root-cause-title' }, headline || 'Root cause'),
      h('div', { class: 'mltrain-root-cause-message' }, rc.message),
      rc.traceback ? pre(rc.traceback, 'mltrain-traceback') : null,
      rc.stderr_tail
        ? h(
            'details',
            { class: 'mltrain-stderr' },
            h('summary', null, 'Last lines of stderr'),
            pre(rc.stderr_tail, 'mltrain-traceback')
          )
        : null
    );
  }
}

function metaItem(key: string, value: string, title?: string): HTMLElement {
  return h(
    'span',
    { class: 'mltrain-meta', title: title ?? null },
    h('span', { class: 'mltrain-meta-key' }, key),
    h('span', { class: 'mltrain-meta-value' }, value)
  );
}

/** The outputs and log files of a run, each downloadable. */
class OutputsView extends Widget {
  constructor(
    private readonly api: MLTrainAPI,
    private readonly runId: string
  ) {
    super();
    this.addClass('mltrain-outputs');
    this.node.dataset.testid = 'mltrain-outputs';
  }

  async refresh(): Promise<void> {
    this.node.replaceChildren(h('div', { class: 'mltrain-empty' }, 'Loading files…'));
    let files: IRunFile[];
    try {
      files = await this.api.files(this.runId);
    } catch (err) {
      this.node.replaceChildren(h('div', { class: 'mltrain-error' }, (err as Error).message));
      return;
    }
    const refresh = h(
      'button',
      { class: 'mltrain-button', onclick: () => void this.refresh() },
      'Refresh'
    );
    if (!files.length) {
      this.node.replaceChildren(
        h('div', { class: 'mltrain-toolbar' }, refresh),
        h(
          'div',
          { class: 'mltrain-empty' },
          'No files yet. Whatever rank 0 writes to jupyter_mltrain.outputs_dir() is kept here.'
        )
      );
      return;
    }
    const total = files.reduce((n, f) => n + (f.size ?? 0), 0);
    const rows = [...files]
      .sort((a, b) => a.path.localeCompare(b.path))
      .map(f =>
        h(
          'tr',
          { 'data-testid': 'mltrain-file', 'data-path': f.path },
          h('td', { class: 'mltrain-file-path' }, f.path),
          h('td', { class: 'mltrain-num' }, fmtBytes(f.size)),
          h(
            'td',
            null,
            h(
              'button',
              {
                class: 'mltrain-button',
                title: `Download ${f.path}`,
                onclick: () => void this.download(f.path)
              },
              'Download'
            )
          )
        )
      );
    this.node.replaceChildren(
      h(
        'div',
        { class: 'mltrain-toolbar' },
        h('span', null, `${files.length} files, ${fmtBytes(total)}`),
        refresh
      ),
      h(
        'table',
        { class: 'mltrain-table' },
        h(
          'thead',
          null,
          h('tr', null, h('th', null, 'path'), h('th', null, 'size'), h('th', null, ''))
        ),
        h('tbody', null, ...rows)
      )
    );
  }

  async download(path: string): Promise<void> {
    try {
      const blob = await this.api.download(this.runId, path);
      saveBlob(blob, path.split('/').pop() || 'download');
    } catch (err) {
      Notification.error(`Download of ${path} failed: ${(err as Error).message}`);
    }
  }
}

/** Params, exit codes and the full spec. */
class DetailsView extends Widget {
  constructor() {
    super();
    this.addClass('mltrain-details');
  }

  render(run: IRunRecord | null, spec: Record<string, unknown> | null): void {
    if (!run) return;
    const params = Object.entries(run.params ?? {});
    const metrics = Object.entries(run.metrics ?? {});
    const specPre = h('pre', { class: 'mltrain-spec' });
    specPre.textContent = spec ? JSON.stringify(spec, null, 2) : '';
    this.node.replaceChildren(
      h('h3', null, 'Parameters'),
      params.length
        ? h(
            'table',
            { class: 'mltrain-table', 'data-testid': 'mltrain-params' },
            h(
              'tbody',
              null,
              ...params.map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, fmtParam(v))))
            )
          )
        : h('div', { class: 'mltrain-empty' }, 'No parameters.'),
      h('h3', null, 'Metrics'),
      metrics.length
        ? h(
            'table',
            { class: 'mltrain-table' },
            h(
              'thead',
              null,
              h('tr', null, ...['metric', 'last', 'min', 'max', 'count'].map(t => h('th', null, t)))
            ),
            h(
              'tbody',
              null,
              ...metrics.map(([k, m]) =>
                h(
                  'tr',
                  null,
                  h('th', null, k),
                  h('td', { class: 'mltrain-num' }, fmtValue(m.last)),
                  h('td', { class: 'mltrain-num' }, fmtValue(m.min)),
                  h('td', { class: 'mltrain-num' }, fmtValue(m.max)),
                  h('td', { class: 'mltrain-num' }, fmtValue(m.count))
                )
              )
            )
          )
        : h('div', { class: 'mltrain-empty' }, 'No metrics.'),
      h('h3', null, 'Exit codes'),
      run.exit_codes?.length
        ? h(
            'div',
            { class: 'mltrain-exit-codes' },
            ...run.exit_codes.map((c, r) =>
              h(
                'span',
                { class: `mltrain-exit${c === 0 ? '' : ' mltrain-exit-bad'}` },
                `rank ${r}: ${c === null ? '–' : c}`
              )
            )
          )
        : h('div', { class: 'mltrain-empty' }, 'Not yet.'),
      h('h3', null, 'From a terminal'),
      h(
        'pre',
        { class: 'mltrain-spec' },
        `mltrain show ${run.id}\nmltrain logs ${run.id} --rank 0\nmltrain outputs ${run.id} DEST`
      ),
      h('h3', null, 'Spec'),
      specPre
    );
  }
}

type Tab = 'live' | 'outputs' | 'details';

/** Ask the user, then cancel the run; the record after the cancel (null when not canceled). */
export async function confirmAndCancel(
  api: MLTrainAPI,
  run: IRunRecord
): Promise<IRunRecord | null> {
  if (isFinal(run.status)) return null;
  const answer = await showDialog({
    title: 'Cancel run?',
    body: `Stop all ${run.ranks} rank${run.ranks === 1 ? '' : 's'} of "${run.name}" (${run.id})? Outputs written so far are kept.`,
    buttons: [
      Dialog.cancelButton({ label: 'Keep running' }),
      Dialog.warnButton({ label: 'Cancel run' })
    ]
  });
  if (!answer.button.accept) return null;
  try {
    const reply = await api.cancel(run.id);
    if (!reply.canceled && !isFinal(reply.run.status)) {
      Notification.warning(`Run ${run.name} could not be canceled (status ${reply.run.status}).`);
    }
    return reply.run;
  } catch (err) {
    Notification.error(`Cancel of ${run.name} failed: ${(err as Error).message}`);
    return null;
  }
}

export class RunView extends Panel {
  constructor(options: IRunViewOptions) {
    super();
    this.addClass('mltrain-runview');
    this.api = options.api;
    this.runId = options.id;
    this.model = options.model;
    this.commands = options.commands;
    this._store = new MetricStore();
    this._header = new Header(this);
    this._tabs = h('div', { class: 'mltrain-tabs', role: 'tablist' });
    const tabsWidget = new Widget({ node: this._tabs });
    this._logView = new LogView({
      download: rank => void this._outputs.download(`logs/rank-${rank}.log`)
    });
    this._charts = new MetricCharts(this._store);
    this._split = new SplitPanel({ orientation: 'horizontal', spacing: 4 });
    this._split.addClass('mltrain-live');
    this._split.addWidget(this._logView);
    this._split.addWidget(this._charts);
    this._split.setRelativeSizes([3, 2]);
    this._outputs = new OutputsView(this.api, this.runId);
    this._details = new DetailsView();
    this.addWidget(this._header);
    this.addWidget(tabsWidget);
    this.addWidget(this._split);
    this.addWidget(this._outputs);
    this.addWidget(this._details);
    for (const [tab, label] of [
      ['live', 'Logs & metrics'],
      ['outputs', 'Outputs'],
      ['details', 'Details']
    ] as [Tab, string][]) {
      this._tabs.append(
        h(
          'button',
          {
            class: 'mltrain-tab',
            role: 'tab',
            'data-tab': tab,
            'data-testid': `mltrain-tab-${tab}`,
            onclick: () => this.showTab(tab)
          },
          label
        )
      );
    }
    this.showTab('live');

    this._stream = new RunStream(this.api, this.runId);
    this._stream.status.connect((_, run) => this._setRun(run));
    this._stream.logs.connect((_, { rank, data }) => this._logView.append(rank, data));
    this._stream.metrics.connect((_, { rank, records, thinned }) => {
      const hadProgress = this._store.progress;
      const changed = this._store.addRecords(rank, records, thinned);
      if (changed.size || thinned) this._charts.update(changed);
      if (this._store.progress !== hadProgress || changed.size) this._scheduleHeader();
    });
    this._stream.stateChanged.connect(() => this._renderHeader());
    this._renderHeader();
    void this._load();
  }

  readonly api: MLTrainAPI;
  readonly runId: string;
  readonly model: RunsModel;
  readonly commands: CommandRegistry;

  /** The latest record. */
  get run(): IRunRecord | null {
    return this._run;
  }

  /** The log pane (for the plugin's commands and tests). */
  get logView(): LogView {
    return this._logView;
  }

  showTab(tab: Tab): void {
    this._tab = tab;
    for (const b of this._tabs.querySelectorAll<HTMLButtonElement>('.mltrain-tab')) {
      const on = b.dataset.tab === tab;
      b.classList.toggle('mltrain-tab-active', on);
      b.setAttribute('aria-selected', String(on));
    }
    this._split.setHidden(tab !== 'live');
    this._outputs.setHidden(tab !== 'outputs');
    this._details.setHidden(tab !== 'details');
    if (tab === 'outputs' && !this._outputsLoaded) {
      this._outputsLoaded = true;
      void this._outputs.refresh();
    }
    if (tab === 'details') this._details.render(this._run, this._spec);
  }

  /** Ask, then cancel the run. */
  async cancel(): Promise<void> {
    if (!this._run) return;
    const run = await confirmAndCancel(this.api, this._run);
    if (run) this._setRun(run);
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (!this._ticker) {
      this._ticker = setInterval(() => {
        if (this._run && !isFinal(this._run.status) && this.isVisible) this._renderHeader();
      }, 1000);
    }
  }

  protected onBeforeDetach(msg: Message): void {
    if (this._ticker) clearInterval(this._ticker);
    this._ticker = null;
    super.onBeforeDetach(msg);
  }

  dispose(): void {
    if (this.isDisposed) return;
    if (this._ticker) clearInterval(this._ticker);
    if (this._headerTimer) clearTimeout(this._headerTimer);
    this._stream.dispose();
    super.dispose();
  }

  private async _load(): Promise<void> {
    const known = this.model.get(this.runId);
    if (known) this._setRun(known);
    try {
      const detail = await this.api.getRun(this.runId);
      this._spec = detail.spec;
      this._setRun(detail.run);
    } catch (err) {
      this._header.node.replaceChildren(
        h(
          'div',
          { class: 'mltrain-error', 'data-testid': 'mltrain-run-error' },
          (err as Error).message
        )
      );
      return;
    }
    this._stream.start();
  }

  private _setRun(run: IRunRecord): void {
    const was = this._run;
    if (was && isFinal(was.status) && !isFinal(run.status)) return;
    this._run = run;
    this.title.label = run.name;
    this.model.upsert(run);
    this._logView.setRankCount(run.ranks);
    // A failed run opens on the log of the rank that failed first.
    const failed = run.root_cause?.rank;
    if (
      typeof failed === 'number' &&
      !this._logView.userChoseRank &&
      this._logView.rank !== failed
    ) {
      this._logView.setRank(failed);
    }
    this._renderHeader();
    if (this._tab === 'details') this._details.render(run, this._spec);
    if (was && !isFinal(was.status) && isFinal(run.status) && this._outputsLoaded) {
      void this._outputs.refresh();
    }
  }

  /** Re-render the header at most every 250 ms while metrics stream in. */
  private _scheduleHeader(): void {
    if (this._headerTimer) return;
    this._headerTimer = setTimeout(() => {
      this._headerTimer = null;
      if (!this.isDisposed) this._renderHeader();
    }, 250);
  }

  private _renderHeader(): void {
    this._header.render(this._run, this._store, this._stream?.state ?? 'connecting');
    this.node.dataset.status = this._run?.status ?? '';
  }

  private _run: IRunRecord | null = null;
  private _spec: Record<string, unknown> | null = null;
  private _store: MetricStore;
  private _header: Header;
  private _tabs: HTMLDivElement;
  private _tab: Tab = 'live';
  private _logView: LogView;
  private _charts: MetricCharts;
  private _split: SplitPanel;
  private _outputs: OutputsView;
  private _outputsLoaded = false;
  private _details: DetailsView;
  private _stream: RunStream;
  private _ticker: ReturnType<typeof setInterval> | null = null;
  private _headerTimer: ReturnType<typeof setTimeout> | null = null;
}
