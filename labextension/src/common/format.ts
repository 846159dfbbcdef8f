// Numbers, sizes, durations and dates as text, the same in the widget and the panel.

/**
 * "1h 02m", "3m 05s", "12s", "0.4s" for a duration in seconds; "–" when unknown.
 * `whole`: no tenths below 10 s (for a clock that ticks every second).
 */
export function fmtDuration(s: number | null | undefined, whole = false): string {
  if (s === null || s === undefined || !isFinite(s)) return '–';
  if (s < 0) s = 0;
  if (s < 10 && !whole) return `${s.toFixed(1)}s`;
  s = Math.floor(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h ${pad2(m)}m`;
  if (m > 0) return `${m}m ${pad2(sec)}s`;
  return `${sec}s`;
}

/** A time-axis tick: seconds with as many decimals as the tick spacing needs, else "1m 05s". */
export function fmtTimeTick(v: number, incr: number): string {
  if (v < 60 || incr < 1) {
    const dec = incr >= 1 || !(incr > 0) ? 0 : Math.min(3, Math.ceil(-Math.log10(incr)));
    return `${v.toFixed(dec)}s`;
  }
  return fmtDuration(v);
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

/** "12,345": a count with thousands separators. */
export function fmtCount(n: number): string {
  return Number(n).toLocaleString('en-US');
}

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
