// The notifications of runs that end: one per run (a second end of the same run updates it,
// never adds one), and at most a few failures on screen (older ones are dismissed), so a sweep
// of failing runs does not bury the page under red toasts.
import { fmtDuration, fmtValue } from '../common/format';
import { failureText } from '../common/failure';
import { IRunRecord } from './api';
import { mainMetric, runDuration } from './format';

/** Failure notifications kept at most; the oldest goes when another arrives. */
export const MAX_FAILURE_NOTICES = 3;

/** The kind of a notification. */
export type NoticeType = 'success' | 'error' | 'info' | 'warning';

/** What a notification says of a run that ended. */
export interface IEndNotice {
  type: NoticeType;
  message: string;
  /** Milliseconds before it closes; false: it stays until dismissed. */
  autoClose: number | false;
}

/** The part of JupyterLab's `Notification` used here (tests give a fake). */
export interface INotifier {
  /** Show a notification; its id. */
  emit(message: string, type: NoticeType, options: INoticeOptions): string;
  /** Change a notification; false when it is gone (dismissed by the user). */
  update(id: string, message: string, type: NoticeType, options: INoticeOptions): boolean;
  dismiss(id: string): void;
}

/** Options of a notification. */
export interface INoticeOptions {
  autoClose: number | false;
  actions: { label: string; callback: () => void }[];
}

/** The notification of a run that ended: the exception first when it failed. */
export function endNotice(run: IRunRecord): IEndNotice {
  const name = `Run "${run.name}"`;
  switch (run.status) {
    case 'Completed': {
      const mm = mainMetric(run.metrics);
      const metric = mm ? `, ${mm} ${fmtValue(run.metrics[mm]?.last)}` : '';
      return {
        type: 'success',
        message: `${name} completed in ${fmtDuration(runDuration(run))}${metric}.`,
        autoClose: 8000
      };
    }
    case 'Failed': {
      const t = failureText(run.root_cause);
      const why = t.error
        ? `${t.error}${t.message ? ` (${t.message})` : ''}`
        : t.message || `exit codes ${JSON.stringify(run.exit_codes)}`;
      return { type: 'error', message: `${name} failed: ${why}`, autoClose: false };
    }
    case 'Canceled':
      return { type: 'info', message: `${name} was canceled.`, autoClose: 5000 };
    case 'Pruned':
      return { type: 'info', message: `${name} was pruned by its sweep.`, autoClose: 5000 };
    default:
      return {
        type: 'warning',
        message: `${name} was lost: its supervisor stopped without reporting an end.`,
        autoClose: false
      };
  }
}

/** The end notifications of runs: one per run, at most `maxFailures` failures at once. */
export class RunNotices {
  constructor(
    private readonly notifier: INotifier,
    private readonly maxFailures = MAX_FAILURE_NOTICES
  ) {}

  /** Say that `run` ended; `open` opens its view (the notification's "Open" action). */
  ended(run: IRunRecord, open: () => void): void {
    const n = endNotice(run);
    const options: INoticeOptions = {
      autoClose: n.autoClose,
      actions: [{ label: 'Open', callback: open }]
    };
    const shown = this._byRun.get(run.id);
    if (shown && shown.message === n.message) return; // the same end, heard twice
    let id: string | null = null;
    if (shown && this.notifier.update(shown.id, n.message, n.type, options)) id = shown.id;
    if (id === null) id = this.notifier.emit(n.message, n.type, options);
    this._byRun.set(run.id, { id, message: n.message });
    this._failures = this._failures.filter(f => f.runId !== run.id);
    if (n.type === 'error') {
      this._failures.push({ runId: run.id, id });
      while (this._failures.length > this.maxFailures) {
        this.notifier.dismiss(this._failures.shift()!.id);
      }
    }
  }

  private _byRun = new Map<string, { id: string; message: string }>();
  private _failures: { runId: string; id: string }[] = [];
}
