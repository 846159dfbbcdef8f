// What the panel shows of a run record: its headline metric, its duration, a glyph per status.
import { IRunRecord } from './api';
import { isFinal, RunStatus } from '../common/statuses';

/** Metrics shown as a run's headline, in order of preference. */
export const MAIN_METRICS = ['loss', 'val_loss', 'accuracy'];

/** The metric a run is summarised by: loss, val_loss, accuracy, else the first logged (by name). */
export function mainMetric(metrics: Record<string, unknown> | null | undefined): string | null {
  if (!metrics) return null;
  for (const m of MAIN_METRICS) if (m in metrics) return m;
  const names = Object.keys(metrics).sort();
  return names.length ? names[0] : null;
}

/** A run's duration in seconds: to its end, or to `now` (epoch seconds) while it is live. */
export function runDuration(run: IRunRecord, now: number = Date.now() / 1000): number | null {
  const start = run.stages?.Running ?? run.stages?.Preparing ?? run.created;
  if (start === undefined || start === null) return run.duration ?? null;
  if (run.ended !== null && run.ended !== undefined) return Math.max(0, run.ended - start);
  if (isFinal(run.status)) return run.duration ?? null;
  return Math.max(0, now - start);
}

/** The last 6 characters of a run id: enough to tell runs of the same name apart. */
export function shortId(id: string): string {
  return id.length > 6 ? id.slice(-6) : id;
}

/** The label of a run's tab: its name and short id ("mnist · 7f3a2c"). */
export function runTitle(run: Pick<IRunRecord, 'id' | 'name'>): string {
  return `${run.name || run.id} · ${shortId(run.id)}`;
}

/** A glyph per status (the CSS colours it). */
export const STATUS_GLYPH: Record<RunStatus, string> = {
  Queued: '◷',
  Preparing: '◔',
  Running: '●',
  Finalizing: '◕',
  Completed: '✓',
  Failed: '✗',
  Canceled: '⊘',
  Pruned: '✂',
  Lost: '?'
};

/** The glyph of a status (`unknown` for one this version does not know). */
export function statusGlyph(status: string, unknown = '•'): string {
  return (STATUS_GLYPH as Record<string, string>)[status] ?? unknown;
}
