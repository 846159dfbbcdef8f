// Pure formatting helpers shared by the panel, the run view and the compare view.
import { FINAL_STATUSES, IRunRecord } from './api';

/** Metrics shown as a run's headline, in order of preference. */
export const MAIN_METRICS = ['loss', 'val_loss', 'accuracy'];

/** The metric a run is summarised by: loss, val_loss, accuracy, else the first logged (by name). */
export function mainMetric(metrics: Record<string, unknown> | null | undefined): string | null {
  if (!metrics) return null;
  for (const m of MAIN_METRICS) if (m in metrics) return m;
  const names = Object.keys(metrics).sort();
  return names.length ? names[0] : null;
}

/** True when the run will never change again. */
export function isFinal(status: string): boolean {
  return FINAL_STATUSES.has(status);
}

/** A run's duration in seconds: to its end, or to `now` (epoch seconds) while it is live. */
export function runDuration(run: IRunRecord, now: number = Date.now() / 1000): number | null {
  const start = run.stages?.Running ?? run.stages?.Preparing ?? run.created;
  if (start === undefined || start === null) return run.duration ?? null;
  if (run.ended !== null && run.ended !== undefined) return Math.max(0, run.ended - start);
  if (isFinal(run.status)) return run.duration ?? null;
  return Math.max(0, now - start);
}

/** "1h 02m", "3m 05s", "12s", "0.4s" for a duration in seconds. */
export function fmtDuration(s: number | null | undefined): string {
  if (s === null || s === undefined || !isFinite(s)) return '–';
  if (s < 0) s = 0;
  if (s < 10) return `${s.toFixed(1)}s`;
  s = Math.floor(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

/** A metric value, compact: integers as is, floats to 4 significant digits. */
export function fmtValue(v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (typeof v !== 'number') return String(v);
  if (!isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

/** "1.5 MiB" for a size in bytes. */
export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ${units[i]}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** When a run started: "14:03" today, "Mar 4 14:03" this year, else "2025-03-04". */
export function fmtStarted(epochSeconds: number | null | undefined, now = new Date()): string {
  if (epochSeconds === null || epochSeconds === undefined || !isFinite(epochSeconds)) return '–';
  const d = new Date(epochSeconds * 1000);
  const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  if (d.toDateString() === now.toDateString()) return hm;
  if (d.getFullYear() === now.getFullYear()) {
    return `${d.toLocaleString('en-US', { month: 'short' })} ${d.getDate()} ${hm}`;
  }
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
}

/** Full local date and time, for tooltips. */
export function fmtDateTime(epochSeconds: number | null | undefined): string {
  if (epochSeconds === null || epochSeconds === undefined || !isFinite(epochSeconds)) return '–';
  const d = new Date(epochSeconds * 1000);
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
  );
}

const SIGNALS: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  10: 'SIGUSR1',
  11: 'SIGSEGV',
  12: 'SIGUSR2',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM'
};

/** "SIGKILL (9)" for a signal number. */
export function signalName(n: number): string {
  return SIGNALS[n] ? `${SIGNALS[n]} (${n})` : `signal ${n}`;
}

/** A glyph per status (the CSS colours it). */
export const STATUS_GLYPH: Record<string, string> = {
  Queued: '◷',
  Preparing: '◔',
  Running: '●',
  Finalizing: '◕',
  Completed: '✓',
  Failed: '✗',
  Canceled: '⊘',
  Lost: '?'
};

/** A parameter value as text (strings bare, everything else as JSON). */
export function fmtParam(v: unknown): string {
  if (v === undefined) return '–';
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf'
];

/** A distinct line colour for series number i. */
export function seriesColor(i: number): string {
  return i < PALETTE.length ? PALETTE[i] : `hsl(${Math.round((i * 137.508) % 360)}, 60%, 50%)`;
}
