// One run, live: header (status, stage timeline, progress, actions), root cause,
// then tabs: logs beside metric charts, outputs, details.
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import { Panel, SplitPanel, Widget } from '@lumino/widgets';
import { h } from '../common/dom';
import { isFinal } from '../common/statuses';
import { IRunRecord, MLTrainAPI } from './api';
import { MetricCharts } from './charts';
import { LogView } from './logview';
import { MetricStore } from './metrics';
import { DetailsView } from './rundetails';
import { OutputsView } from './runfiles';
import { CodeView, EnvView } from './runcode';
import { RunHeader } from './runheader';
import { editLabels } from './runlabels';
import { runTitle } from './format';
import { RunsModel } from './runsmodel';
import { RunStream } from './stream';

export { RunCommands } from './runheader';

/** What a run view needs. */
export interface IRunViewOptions {
  api: MLTrainAPI;
  id: string;
  model: RunsModel;
  commands: CommandRegistry;
}

type Tab = 'live' | 'outputs' | 'code' | 'env' | 'details';

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

/** One run, live, in a main-area tab. */
export class RunView extends Panel {
  constructor(options: IRunViewOptions) {
    super();
    this.addClass('mltrain-runview');
    this.api = options.api;
    this.runId = options.id;
    this.model = options.model;
    this.commands = options.commands;
    this._store = new MetricStore();
    this._header = new RunHeader(this);
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
    this._code = new CodeView(this.api, this.runId, () => this.model.runs);
    this._env = new EnvView(this.api, this.runId);
    this.addWidget(this._header);
    this.addWidget(tabsWidget);
    this.addWidget(this._split);
    this.addWidget(this._outputs);
    this.addWidget(this._code);
    this.addWidget(this._env);
    this.addWidget(this._details);
    for (const [tab, label] of [
      ['live', 'Logs & metrics'],
      ['outputs', 'Outputs'],
      ['code', 'Code'],
      ['env', 'Environment'],
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

  /** Stack the log above the charts (a narrow side area) instead of side by side. */
  setNarrow(narrow: boolean): void {
    this._split.orientation = narrow ? 'vertical' : 'horizontal';
    this.toggleClass('mltrain-runview-narrow', narrow);
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
    this._code.setHidden(tab !== 'code');
    this._env.setHidden(tab !== 'env');
    const entry = typeof this._spec?.entry === 'string' ? this._spec.entry : null;
    if (tab === 'code' && this._run) void this._code.load(this._run, entry);
    if (tab === 'env') void this._env.load(this._spec);
    if (tab === 'outputs' && !this._outputsLoaded) {
      this._outputsLoaded = true;
      void this._outputs.refresh();
    }
    if (tab === 'details') this._details.render(this._run, this._spec);
  }

  /** Ask, then cancel the run. */
  async editLabels(): Promise<void> {
    if (!this._run) return;
    const run = await editLabels(this.api, this._run);
    if (run) {
      this._setRun(run);
      this._renderHeader();
    }
  }

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
    this.title.label = runTitle(run);
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
  private _header: RunHeader;
  private _tabs: HTMLDivElement;
  private _tab: Tab = 'live';
  private _logView: LogView;
  private _charts: MetricCharts;
  private _split: SplitPanel;
  private _outputs: OutputsView;
  private _outputsLoaded = false;
  private _details: DetailsView;
  private _code: CodeView;
  private _env: EnvView;
  private _stream: RunStream;
  private _ticker: ReturnType<typeof setInterval> | null = null;
  private _headerTimer: ReturnType<typeof setTimeout> | null = null;
}
