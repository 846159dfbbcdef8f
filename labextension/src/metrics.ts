// Metric series of a run (per metric, per rank), their alignment for uPlot, and the
// data of the compare view. No DOM here.
import { IRunRecord, IMetricPoint, StreamMetricRecord } from './api';
import { fmtParam, isFinal, runDuration } from './format';

/** Points kept per series; above it the older half is thinned (every second point dropped). */
export const MAX_POINTS = 20000;

export interface ISeries {
  x: number[];
  y: (number | null)[];
}

export interface IProgress {
  step: number;
  total: number | null;
  time: number;
}

function toNumber(v: unknown): number | null {
  return typeof v === 'number' && isFinite(v) ? v : null;
}

function thin(s: ISeries): void {
  while (s.x.length > MAX_POINTS) {
    const half = s.x.length >> 1;
    const x: number[] = [];
    const y: (number | null)[] = [];
    for (let i = 0; i < half; i += 2) {
      x.push(s.x[i]);
      y.push(s.y[i]);
    }
    for (let i = half; i < s.x.length; i++) {
      x.push(s.x[i]);
      y.push(s.y[i]);
    }
    s.x = x;
    s.y = y;
  }
}

/**
 * Every metric of one run. The x of a metric is its step when the first value
 * came with one, else seconds since the run's first metric.
 */
export class MetricStore {
  /** metric name -> rank -> series */
  readonly series = new Map<string, Map<number, ISeries>>();
  readonly xKind = new Map<string, 'step' | 'time'>();
  /** Latest progress event of any rank (rank 0 preferred). */
  progress: IProgress | null = null;
  /** Values the server left out of the batches (sampled for drawing; all are on disk). */
  thinned = 0;
  private _t0: number | null = null;

  constructor(t0: number | null = null) {
    this._t0 = t0;
  }

  /** Metric names, in the order they first appeared. */
  get names(): string[] {
    return [...this.series.keys()];
  }

  /** Add a stream batch of one rank (`thinned` values of it left out); returns the metrics that got points. */
  addRecords(rank: number, records: readonly StreamMetricRecord[], thinned = 0): Set<string> {
    const changed = new Set<string>();
    this.thinned += thinned;
    for (const r of records) {
      if ('event' in r) {
        if (r.event === 'progress' && (rank === 0 || this.progress === null)) {
          this.progress = { step: r.step, total: toNumber(r.total), time: r.time };
        }
        continue;
      }
      if (typeof r.name !== 'string') continue;
      this.addPoint(rank, r.name, r.value, r.step ?? null, r.time);
      changed.add(r.name);
    }
    return changed;
  }

  /** Replace everything by the points of `GET runs/{id}/metrics`. */
  load(points: readonly IMetricPoint[]): void {
    this.series.clear();
    this.xKind.clear();
    this.thinned = 0;
    for (const p of points) this.addPoint(p.rank, p.name, p.value, p.step, p.time);
  }

  addPoint(rank: number, name: string, value: unknown, step: number | null, time: number): void {
    if (this._t0 === null && isFinite(time)) this._t0 = time;
    let kind = this.xKind.get(name);
    if (!kind) {
      kind = step !== null && step !== undefined ? 'step' : 'time';
      this.xKind.set(name, kind);
    }
    let byRank = this.series.get(name);
    if (!byRank) {
      byRank = new Map();
      this.series.set(name, byRank);
    }
    let s = byRank.get(rank);
    if (!s) {
      s = { x: [], y: [] };
      byRank.set(rank, s);
    }
    let x: number;
    if (kind === 'step') {
      x =
        typeof step === 'number' && isFinite(step)
          ? step
          : s.x.length
            ? s.x[s.x.length - 1] + 1
            : 0;
    } else {
      x = (isFinite(time) ? time : 0) - (this._t0 ?? 0);
    }
    s.x.push(x);
    s.y.push(toNumber(value));
    if (s.x.length > MAX_POINTS) thin(s);
  }

  /** Total points of a metric across ranks. */
  count(name: string): number {
    let n = 0;
    for (const s of this.series.get(name)?.values() ?? []) n += s.x.length;
    return n;
  }

  /** The last value of a metric on the lowest rank that has one. */
  last(name: string): number | null {
    const byRank = this.series.get(name);
    if (!byRank) return null;
    for (const r of [...byRank.keys()].sort((a, b) => a - b)) {
      const s = byRank.get(r)!;
      for (let i = s.y.length - 1; i >= 0; i--) if (s.y[i] !== null) return s.y[i];
    }
    return null;
  }
}

/**
 * Several series on one ascending x axis (uPlot's aligned data): x values are
 * the union, y is null where a series has no point. A repeated x keeps the last value.
 */
export function alignSeries(list: readonly ISeries[]): [number[], ...(number | null)[][]] {
  const sortedSame =
    list.length > 0 &&
    list.every(s => s.x.length === list[0].x.length && s.x.every((x, i) => x === list[0].x[i])) &&
    list[0].x.every((x, i, a) => i === 0 || a[i - 1] < x);
  if (sortedSame) return [list[0].x.slice(), ...list.map(s => s.y.slice())];
  const set = new Set<number>();
  for (const s of list) for (const x of s.x) set.add(x);
  const xs = Float64Array.from(set).sort();
  const index = new Map<number, number>();
  xs.forEach((x, i) => index.set(x, i));
  const ys = list.map(s => {
    const y: (number | null)[] = new Array(xs.length).fill(null);
    for (let i = 0; i < s.x.length; i++) y[index.get(s.x[i])!] = s.y[i];
    return y;
  });
  return [Array.from(xs), ...ys];
}

/** The mean over ranks at each x of a metric (ranks missing a point are left out). */
export function meanOverRanks(byRank: ReadonlyMap<number, ISeries>): ISeries {
  const ranks = [...byRank.keys()].sort((a, b) => a - b);
  if (ranks.length === 1) return byRank.get(ranks[0])!;
  const [xs, ...ys] = alignSeries(ranks.map(r => byRank.get(r)!));
  const y = xs.map((_, i) => {
    let sum = 0;
    let n = 0;
    for (const col of ys) {
      const v = col[i];
      if (v !== null) {
        sum += v;
        n++;
      }
    }
    return n ? sum / n : null;
  });
  return { x: xs, y };
}

/** Whether a lower value of a metric is better (true), a higher one (false), or unknown (null). */
export function lowerIsBetter(name: string): boolean | null {
  const n = name.toLowerCase();
  if (/(loss|error|err|mse|mae|rmse|perplexity|ppl|wer|cer)$/.test(n) || n.includes('loss')) {
    return true;
  }
  if (/(acc|accuracy|f1|auc|precision|recall|iou|bleu|map|score|reward)$/.test(n)) return false;
  return null;
}

export interface ICompareRow {
  id: string;
  name: string;
  experiment: string;
  status: string;
  duration: number | null;
  params: Record<string, string>;
  metrics: Record<string, number | null>;
}

export interface ICompareTable {
  /** Parameter names, those that differ between runs first, then alphabetical. */
  params: string[];
  /** Parameters whose value is not the same in every run. */
  differing: Set<string>;
  /** Metric names, alphabetical. */
  metrics: string[];
  rows: ICompareRow[];
  /** metric -> id of the best run by its final value (when better is known). */
  best: Map<string, string>;
}

/** The table of the compare view: params and final metrics of each run. */
export function compareTable(runs: readonly IRunRecord[], now?: number): ICompareTable {
  const paramSet = new Set<string>();
  const metricSet = new Set<string>();
  for (const r of runs) {
    for (const k of Object.keys(r.params ?? {})) paramSet.add(k);
    for (const k of Object.keys(r.metrics ?? {})) metricSet.add(k);
  }
  const rows: ICompareRow[] = runs.map(r => {
    const params: Record<string, string> = {};
    for (const k of paramSet) {
      params[k] = k in (r.params ?? {}) ? fmtParam(r.params[k]) : '–';
    }
    const metrics: Record<string, number | null> = {};
    for (const k of metricSet) metrics[k] = toNumber(r.metrics?.[k]?.last);
    return {
      id: r.id,
      name: r.name,
      experiment: r.experiment,
      status: r.status,
      duration: runDuration(r, now),
      params,
      metrics
    };
  });
  const differing = new Set<string>();
  for (const k of paramSet) {
    if (new Set(rows.map(r => r.params[k])).size > 1) differing.add(k);
  }
  const params = [...paramSet].sort((a, b) => {
    const d = Number(differing.has(b)) - Number(differing.has(a));
    return d || a.localeCompare(b);
  });
  const metrics = [...metricSet].sort();
  const best = new Map<string, string>();
  for (const m of metrics) {
    const lower = lowerIsBetter(m);
    if (lower === null) continue;
    let bestRow: ICompareRow | null = null;
    for (const row of rows) {
      const v = row.metrics[m];
      if (v === null) continue;
      if (bestRow === null || (lower ? v < bestRow.metrics[m]! : v > bestRow.metrics[m]!)) {
        bestRow = row;
      }
    }
    // Only a real choice is marked: a single value is the best of nothing.
    if (bestRow && rows.filter(r => r.metrics[m] !== null).length > 1) best.set(m, bestRow.id);
  }
  return { params, differing, metrics, rows, best };
}

/** Whether a compare row's run is still live (its metrics may change). */
export function isLive(row: ICompareRow): boolean {
  return !isFinal(row.status);
}
