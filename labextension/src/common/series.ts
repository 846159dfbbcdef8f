// Metric series of several ranks: bounded in size, aligned on one x axis, and
// aggregated over ranks. The one implementation for the widget's and the panel's charts.

/**
 * One series: x ascending in the usual case, y null where a value is not a number.
 * `a` is each point's attempt of a restarted run (`--max-restarts`); absent while every
 * point is of attempt 1. A restarted attempt re-does the steps after its last checkpoint,
 * so an x may come once per attempt.
 */
export interface ISeries {
  x: number[];
  y: (number | null)[];
  a?: number[];
  /** Each point's time (epoch s) where the reader has it: a metric logged by step drawn on a time axis. */
  t?: number[];
}

/** A record's attempt: a whole number from 1 (absent or anything else means 1). */
export function toAttempt(v: unknown): number {
  return typeof v === 'number' && Number.isInteger(v) && v > 1 ? v : 1;
}

/** Append a point of `attempt` (1 by default) to a series; `a` is created at the first later attempt. */
export function pushPoint(s: ISeries, x: number, y: number | null, attempt = 1): void {
  if (attempt !== 1 && !s.a) s.a = new Array<number>(s.x.length).fill(1);
  s.x.push(x);
  s.y.push(y);
  s.a?.push(attempt);
}

/** The highest attempt among a series' points (1 when it has none of a later one). */
export function maxAttempt(s: ISeries): number {
  let m = 1;
  if (s.a) for (const a of s.a) if (a > m) m = a;
  return m;
}

/** Points kept per series; above it the older half is thinned (every second point dropped). */
export const MAX_POINTS = 20000;

/** Above this many ranks a chart shows an aggregate over ranks instead of one line each. */
export const MAX_RANK_LINES = 8;

/** A value as a chart's y: the number, or null (a gap) for anything else. */
export function toY(v: unknown): number | null {
  return typeof v === 'number' && isFinite(v) ? v : null;
}

/** The series of `rank` in a metric's map of series by rank, created empty on first use. */
export function seriesOf<K>(
  byMetric: Map<string, Map<K, ISeries>>,
  metric: string,
  rank: K
): ISeries {
  let byRank = byMetric.get(metric);
  if (!byRank) {
    byRank = new Map();
    byMetric.set(metric, byRank);
  }
  let s = byRank.get(rank);
  if (!s) {
    s = { x: [], y: [] };
    byRank.set(rank, s);
  }
  return s;
}

/** Thin the oldest half of a series (every second point) until it holds at most `max` points. */
export function thin(s: ISeries, max: number = MAX_POINTS): void {
  while (s.x.length > max) {
    const half = s.x.length >> 1;
    const x: number[] = [];
    const y: (number | null)[] = [];
    const a: number[] | undefined = s.a ? [] : undefined;
    const t: number[] | undefined = s.t ? [] : undefined;
    for (let i = 0; i < half; i += 2) {
      x.push(s.x[i]);
      y.push(s.y[i]);
      a?.push(s.a![i]);
      t?.push(s.t![i]);
    }
    for (let i = half; i < s.x.length; i++) {
      x.push(s.x[i]);
      y.push(s.y[i]);
      a?.push(s.a![i]);
      t?.push(s.t![i]);
    }
    s.x = x;
    s.y = y;
    if (a) s.a = a;
    if (t) s.t = t;
  }
}

/** Rank keys (0, 1, … or "0", "1", …) in numeric order; keys that are not numbers last. */
export function sortRanks<K extends string | number>(keys: Iterable<K>): K[] {
  return [...keys].sort((a, b) => {
    const x = Number(a);
    const y = Number(b);
    if (isNaN(x) || isNaN(y)) {
      return Number(isNaN(x)) - Number(isNaN(y)) || String(a).localeCompare(String(b));
    }
    return x - y;
  });
}

function sameAscendingX(list: readonly ISeries[]): boolean {
  const x0 = list[0].x;
  for (let i = 1; i < x0.length; i++) if (!(x0[i - 1] < x0[i])) return false;
  for (const s of list) {
    if (s.x.length !== x0.length) return false;
    for (let i = 0; i < x0.length; i++) if (s.x[i] !== x0[i]) return false;
  }
  return true;
}

/**
 * Several series on one ascending x axis (uPlot's aligned data): x values are
 * the union, y is null where a series has no point. A repeated x keeps the value of
 * its highest attempt (of those, the last).
 */
export function alignSeries(list: readonly ISeries[]): [number[], ...(number | null)[][]] {
  if (list.length > 0 && sameAscendingX(list)) {
    return [list[0].x.slice(), ...list.map(s => s.y.slice())];
  }
  const set = new Set<number>();
  for (const s of list) for (const x of s.x) set.add(x);
  const xs = Float64Array.from(set).sort();
  const index = new Map<number, number>();
  xs.forEach((x, i) => index.set(x, i));
  const ys = list.map(s => {
    const y: (number | null)[] = new Array(xs.length).fill(null);
    if (!s.a) {
      for (let i = 0; i < s.x.length; i++) y[index.get(s.x[i])!] = s.y[i];
      return y;
    }
    const best: number[] = new Array(xs.length).fill(0);
    for (let i = 0; i < s.x.length; i++) {
      const j = index.get(s.x[i])!;
      if (s.a[i] >= best[j]) {
        best[j] = s.a[i];
        y[j] = s.y[i];
      }
    }
    return y;
  });
  return [Array.from(xs), ...ys];
}

/** Mean, min and max over ranks at each x. */
export interface IAggregate {
  x: number[];
  mean: (number | null)[];
  min: (number | null)[];
  max: (number | null)[];
}

/** Mean, min and max over the series of all ranks at each x (a rank missing a point is left out). */
export function aggregateRanks<K extends string | number>(
  byRank: ReadonlyMap<K, ISeries>
): IAggregate {
  const [x, ...ys] = alignSeries(sortRanks(byRank.keys()).map(r => byRank.get(r)!));
  const n = x.length;
  const mean: (number | null)[] = new Array(n);
  const min: (number | null)[] = new Array(n);
  const max: (number | null)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    let count = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (const col of ys) {
      const v = col[i];
      if (v === null) continue;
      sum += v;
      count++;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    mean[i] = count ? sum / count : null;
    min[i] = count ? lo : null;
    max[i] = count ? hi : null;
  }
  return { x, mean, min, max };
}

/** The mean over ranks at each x of a metric (ranks missing a point are left out). */
export function meanOverRanks<K extends string | number>(byRank: ReadonlyMap<K, ISeries>): ISeries {
  if (byRank.size === 1) {
    const only = byRank.values().next().value!;
    if (!only.a) return only;
  }
  const a = aggregateRanks(byRank);
  return { x: a.x, y: a.mean };
}

/** Each attempt's points of a series, by attempt in ascending order (one entry when never restarted). */
export function splitAttempts(s: ISeries): Map<number, ISeries> {
  const out = new Map<number, ISeries>();
  if (!s.a) {
    out.set(1, { x: s.x, y: s.y });
    return out;
  }
  for (const n of [...new Set(s.a)].sort((p, q) => p - q)) out.set(n, { x: [], y: [] });
  for (let i = 0; i < s.x.length; i++) {
    const t = out.get(s.a[i])!;
    t.x.push(s.x[i]);
    t.y.push(s.y[i]);
  }
  return out;
}

/** A metric's series by attempt (ascending), each a map by rank: what "every attempt" draws. */
export function byAttempt<K extends string | number>(
  byRank: ReadonlyMap<K, ISeries>
): Map<number, Map<K, ISeries>> {
  const out = new Map<number, Map<K, ISeries>>();
  for (const r of sortRanks(byRank.keys())) {
    for (const [n, s] of splitAttempts(byRank.get(r)!)) {
      let m = out.get(n);
      if (!m) out.set(n, (m = new Map()));
      m.set(r, s);
    }
  }
  return new Map([...out].sort((p, q) => p[0] - q[0]));
}

/** One labelled line of a chart. */
export interface ILabelledSeries {
  label: string;
  data: ISeries;
  /** The attempt drawn, when the line is one attempt's. */
  attempt?: number;
}

/**
 * A line per rank and attempt (`rank 0 · attempt 1`, rank by rank), or with `mean`
 * a line per attempt of the mean over ranks (`mean · attempt 1`; `meanLabel` names it).
 */
export function attemptLines<K extends string | number>(
  byRank: ReadonlyMap<K, ISeries>,
  mean = false,
  meanLabel = 'mean'
): ILabelledSeries[] {
  const split = byAttempt(byRank);
  if (mean) {
    return [...split].map(([n, m]) => ({
      label: `${meanLabel} · attempt ${n}`,
      data: meanOverRanks(m),
      attempt: n
    }));
  }
  const lines: ILabelledSeries[] = [];
  for (const r of sortRanks(byRank.keys())) {
    for (const [n, m] of split) {
      const s = m.get(r);
      if (s) lines.push({ label: `rank ${r} · attempt ${n}`, data: s, attempt: n });
    }
  }
  return lines;
}

/** The mean of the numbers among `values`, or null when there is none. */
export function meanOf(values: Iterable<unknown>): number | null {
  let sum = 0;
  let n = 0;
  for (const v of values) {
    const y = toY(v);
    if (y === null) continue;
    sum += y;
    n++;
  }
  return n ? sum / n : null;
}
