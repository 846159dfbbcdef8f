// Pure transforms of chart data: EMA smoothing, log-scale safety, the x axis, metric groups, bands.
import { aggregateRanks, ISeries } from '../series';

/**
 * Exponential moving average as TensorBoard draws it: `weight` in [0, 1) (0: no smoothing),
 * debiased so the first points are not pulled towards 0; nulls stay gaps and do not reset it.
 */
export function emaSmooth(ys: readonly (number | null)[], weight: number): (number | null)[] {
  const w = Math.min(Math.max(weight, 0), 0.999);
  if (w === 0) return ys.slice();
  let last = 0;
  let n = 0;
  return ys.map(y => {
    if (y === null || !isFinite(y)) return null;
    last = last * w + (1 - w) * y;
    n++;
    return last / (1 - Math.pow(w, n));
  });
}

/** Values a log scale can draw: anything not above 0 becomes a gap. */
export function logSafe(ys: readonly (number | null)[]): (number | null)[] {
  return ys.map(y => (y !== null && y > 0 ? y : null));
}

/** What the x axis shows: the step, the wall-clock time, or the time since the run started. */
export type XAxis = 'step' | 'wall' | 'relative';

/**
 * The x axis a metric can be drawn on: a metric logged with steps has only steps; one logged
 * by time (x = seconds since `created`) has wall or relative time.
 */
export function effectiveXAxis(wanted: XAxis, xKind: 'step' | 'time'): XAxis {
  if (xKind === 'step') return 'step';
  return wanted === 'wall' ? 'wall' : 'relative';
}

/**
 * A step metric's series with x = each point's time since `origin` (the earliest time when null),
 * or null when a series has no times (a widget history saved before times were sent).
 * `base` is what the series' `t` count from (0: epoch seconds, the panel's; the widget's count
 * from the run's created).
 */
export function timeSeries<K extends string | number>(
  byRank: ReadonlyMap<K, ISeries>,
  origin: number | null,
  base = 0
): Map<K, ISeries> | null {
  let t0 = origin ?? Infinity;
  for (const s of byRank.values()) {
    if (!s.t || s.t.length !== s.x.length) return null;
    if (origin === null) for (const t of s.t) if (t + base < t0) t0 = t + base;
  }
  const out = new Map<K, ISeries>();
  for (const [r, s] of byRank) out.set(r, { x: s.t!.map(t => t + base - t0), y: s.y, a: s.a });
  return out;
}

/** The x values of a series on `axis` (wall time: epoch seconds, from `created`). */
export function xValues(xs: readonly number[], axis: XAxis, created: number | null): number[] {
  return axis === 'wall' && created !== null ? xs.map(x => x + created) : xs.slice();
}

/** A section of charts: the metrics sharing a prefix (`train/`, `val/`, `system/`), or the rest. */
export interface IMetricGroup {
  key: string;
  title: string;
  names: string[];
}

const GROUP_ORDER = ['train', 'val', '', 'system'];
const GROUP_TITLES: Record<string, string> = {
  train: 'Train',
  val: 'Validation',
  '': 'Metrics',
  system: 'System'
};

/** The group key of a metric: `train`, `val` (also `valid`, `validation`, `eval`), `system`, or ''. */
export function groupKey(name: string): string {
  const slash = name.indexOf('/');
  if (slash <= 0) return '';
  const prefix = name.slice(0, slash).toLowerCase();
  if (prefix === 'train' || prefix === 'system') return prefix;
  if (['val', 'valid', 'validation', 'eval'].includes(prefix)) return 'val';
  return prefix;
}

/** Metrics grouped by prefix, in the order train, val, other prefixes, the rest, system; names keep their order. */
export function groupMetrics(names: readonly string[]): IMetricGroup[] {
  const groups = new Map<string, string[]>();
  for (const name of names) {
    const key = groupKey(name);
    const list = groups.get(key);
    if (list) list.push(name);
    else groups.set(key, [name]);
  }
  const rank = (k: string): number => {
    const i = GROUP_ORDER.indexOf(k);
    return i >= 0 ? i * 2 : GROUP_ORDER.indexOf('') * 2 - 1; // other prefixes just before the rest
  };
  return [...groups.entries()]
    .sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]))
    .map(([key, list]) => ({ key, title: GROUP_TITLES[key] ?? key, names: list }));
}

/** A min–max band over ranks: lower and upper edges and the mean, on one x. */
export interface IBand {
  x: number[];
  lower: (number | null)[];
  upper: (number | null)[];
  mean: (number | null)[];
}

/**
 * The band of a metric over ranks. At an x where only one rank has a value the band is
 * that value (zero width); a band of one rank is its line.
 */
export function bandOf<K extends string | number>(byRank: ReadonlyMap<K, ISeries>): IBand {
  const a = aggregateRanks(byRank);
  return { x: a.x, lower: a.min, upper: a.max, mean: a.mean };
}
