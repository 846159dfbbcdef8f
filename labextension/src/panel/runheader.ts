// The run tab's header: status, identity, facts, stage timeline, progress with ETA,
// root cause of a failure, and the actions (cancel, rerun, attach in notebook).
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';
import { ansiBlockToHtml } from '../common/ansi';
import { statusLabel } from '../common/attempts';
import { stragglerBadge } from '../common/stragglers';
import { h } from '../common/dom';
import { failureText, rankRows } from '../common/failure';
import { fmtDateTime, fmtDuration, fmtStarted, fmtValue } from '../common/format';
import { isFinal } from '../common/statuses';
import { IRunRecord } from './api';
import { labelsRow } from './runlabels';
import { mainMetric, runDuration, statusGlyph } from './format';
import { IProgress, MetricStore } from './metrics';
import { rootCauseHeadline, timeline } from './records';
import { ConnectionState } from './stream';

/** Command ids the run view calls (registered by the plugin). */
export const RunCommands = {
  rerun: 'mltrain:rerun',
  insertAttach: 'mltrain:insert-attach',
  openRun: 'mltrain:open-run'
};

/** What the header's buttons act on. */
export interface IHeaderHost {
  /** Ask, then cancel the run. */
  cancel(): Promise<void>;
  /** The application's commands (rerun, attach). */
  readonly commands: CommandRegistry;
  /** Ask for the run's tags and note, then save them. */
  editLabels(): Promise<void>;
}

/** The run tab's header: status, identity, facts, stage timeline, progress, root cause, actions. */
export class RunHeader extends Widget {
  /** A header whose buttons act through `view`. */
  constructor(private readonly view: IHeaderHost) {
    super();
    this.addClass('mltrain-run-header');
  }

  /** Draw the run (null: still loading) with the streamed metrics and the connection's state. */
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
            title: statusLabel(run.status, run.attempt)
          },
          h('span', { class: 'mltrain-status-glyph' }, statusGlyph(run.status)),
          ` ${statusLabel(run.status, run.attempt)}`
        ),
        h('h2', { class: 'mltrain-run-name', title: run.name }, run.name),
        h('code', { class: 'mltrain-run-id', title: 'Run id' }, run.id),
        stragglerBadge(run.stragglers, final ? (run.ended ?? run.created) : null),
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
      labelsRow(run, () => void this.view.editLabels()),
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
    const text = failureText(rc);
    const pre = (body: string, cls: string): HTMLPreElement => {
      const el = h('pre', { class: cls });
      el.innerHTML = ansiBlockToHtml(body);
      return el;
    };
    const headline = rootCauseHeadline(rc);
    let stderr: HTMLElement | null = null;
    if (text.stderr) {
      const tail = pre(text.stderr, 'mltrain-traceback mltrain-stderr-tail');
      tail.dataset.testid = 'mltrain-stderr-tail';
      const details = h(
        'details',
        { class: 'mltrain-stderr', open: this._stderrOpen ?? !rc.traceback },
        h('summary', null, 'Last lines of stderr'),
        tail
      );
      // The last lines are the ones that matter: shown scrolled to the end, now and when opened.
      const toEnd = (): void => {
        tail.scrollTop = tail.scrollHeight;
      };
      details.addEventListener('toggle', () => {
        this._stderrOpen = details.open;
        if (details.open) toEnd();
      });
      requestAnimationFrame(toEnd);
      stderr = details;
    }
    return h(
      'div',
      { class: 'mltrain-root-cause', 'data-testid': 'mltrain-root-cause', role: 'alert' },
      text.error
        ? h(
            'div',
            { class: 'mltrain-root-cause-error', 'data-testid': 'mltrain-root-cause-error' },
            text.error
          )
        : null,
      h('div', { class: 'mltrain-root-cause-title' }, headline || 'Root cause'),
      text.message ? h('div', { class: 'mltrain-root-cause-message' }, text.message) : null,
      rc.traceback ? pre(rc.traceback, 'mltrain-traceback') : null,
      rankTable(run),
      stderr
    );
  }

  /** Whether the user opened (true) or closed (false) the stderr tail; null: not touched. */
  private _stderrOpen: boolean | null = null;
}

/** How every rank ended: rank, status, exit code or signal (null when the record has no list). */
export function rankTable(run: IRunRecord): HTMLTableElement | null {
  const rows = rankRows(run.exit_codes, run.root_cause?.rank);
  if (!rows.length) return null;
  return h(
    'table',
    { class: 'mltrain-table mltrain-rank-table', 'data-testid': 'mltrain-rank-table' },
    h(
      'thead',
      null,
      h('tr', null, ...['rank', 'status', 'exit code / signal'].map(t => h('th', null, t)))
    ),
    h(
      'tbody',
      null,
      ...rows.map(r =>
        h(
          'tr',
          {
            class: `mltrain-rank-${r.state}${r.rootCause ? ' mltrain-rank-root' : ''}`,
            'data-rank': r.rank,
            'data-state': r.state,
            title: r.rootCause ? 'The rank that failed first' : null
          },
          h('td', { class: 'mltrain-num' }, String(r.rank)),
          h('td', null, r.status),
          h('td', null, r.detail)
        )
      )
    )
  );
}

function metaItem(key: string, value: string, title?: string): HTMLElement {
  return h(
    'span',
    { class: 'mltrain-meta', title: title ?? null },
    h('span', { class: 'mltrain-meta-key' }, key),
    h('span', { class: 'mltrain-meta-value' }, value)
  );
}
