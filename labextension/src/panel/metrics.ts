// Metric series of a run (per metric, per rank) and the data of the compare view. No DOM here.
import { fmtParam } from '../common/format';
import { ISeries, pushPoint, seriesOf, sortRanks, thin, toAttempt, toY } from '../common/series';
import { isFinal } from '../common/statuses';
import { IRunRecord, IMetricPoint, StreamMetricRecord } from './api';
import { runDuration } from './format';

/** The latest progress event of a run. */
export interface IProgress {
  step: number;
  total: number | null;
  time: number;
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
  /** The highest attempt of any point (above 1: the run restarted and "every attempt" can be drawn). */
  maxAttempt = 1;
  private _t0: number | null = null;

  constructor(t0: number | null = null) {
    this._t0 = t0;
  }

  /** The epoch second time-based x values count from (the first metric's time, or the given one). */
  get t0(): number | null {
    return this._t0;
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
          this.progress = { step: r.step, total: toY(r.total), time: r.time };
        }
        continue;
      }
      if (typeof r.name !== 'string') continue;
      this.addPoint(rank, r.name, r.value, r.step ?? null, r.time, r.attempt);
      changed.add(r.name);
    }
    return changed;
  }

  /** Replace everything by the points of `GET runs/{id}/metrics`. */
  load(points: readonly IMetricPoint[]): void {
    this.series.clear();
    this.xKind.clear();
    this.thinned = 0;
    this.maxAttempt = 1;
    for (const p of points) this.addPoint(p.rank, p.name, p.value, p.step, p.time, p.attempt);
  }

  /** Add one point of `rank` (of `attempt`, 1 when absent). */
  addPoint(
    rank: number,
    name: string,
    value: unknown,
    step: number | null,
    time: number,
    attempt?: unknown
  ): void {
    const n = toAttempt(attempt);
    if (n > this.maxAttempt) this.maxAttempt = n;
    if (this._t0 === null && isFinite(time)) this._t0 = time;
    let kind = this.xKind.get(name);
    if (!kind) {
      kind = step !== null && step !== undefined ? 'step' : 'time';
      this.xKind.set(name, kind);
    }
    const s = seriesOf(this.series, name, rank);
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
    pushPoint(s, x, toY(value), n);
    // A step metric keeps each point's time too: it can be drawn on a time axis.
    if (kind === 'step' && (s.t?.length ?? 0) === s.x.length - 1) (s.t ??= []).push(time);
    thin(s);
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
    for (const r of sortRanks(byRank.keys())) {
      const s = byRank.get(r)!;
      for (let i = s.y.length - 1; i >= 0; i--) if (s.y[i] !== null) return s.y[i];
    }
    return null;
  }
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

/** One run's row of the compare table. */
export interface ICompareRow {
  id: string;
  name: string;
  experiment: string;
  status: string;
  duration: number | null;
  params: Record<string, string>;
  metrics: Record<string, number | null>;
}

/** The compare table: columns and rows. */
export interface ICompareTable {
  /** Parameter names, those that differ between runs first, then alphabetical. */
  params: string[];
  /** Parameters whose value is not the same in every run. */
  differing: Set<string>;
  /** Metric names, alphabetical. */
  metrics: string[];
  rows: ICompareRow[];
  /** metric -> id of the best run by its final value (when better is known): Completed runs only. */
  best: Map<string, string>;
  /** Column titles of the params ("lr", or "param lr" where a metric has the same name). */
  paramLabels: Record<string, string>;
  /** Column titles of the metrics ("loss", or "metric lr" where a param has the same name). */
  metricLabels: Record<string, string>;
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
    for (const k of metricSet) metrics[k] = toY(r.metrics?.[k]?.last);
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
  // A failed, canceled or still running run's last value is not a result: only Completed ones compete.
  const finished = rows.filter(r => r.status === 'Completed');
  for (const m of metrics) {
    const lower = lowerIsBetter(m);
    if (lower === null) continue;
    let bestRow: ICompareRow | null = null;
    for (const row of finished) {
      const v = row.metrics[m];
      if (v === null) continue;
      if (bestRow === null || (lower ? v < bestRow.metrics[m]! : v > bestRow.metrics[m]!)) {
        bestRow = row;
      }
    }
    // Only a real choice is marked: a single value is the best of nothing.
    if (bestRow && finished.filter(r => r.metrics[m] !== null).length > 1) best.set(m, bestRow.id);
  }
  const paramLabels: Record<string, string> = {};
  const metricLabels: Record<string, string> = {};
  for (const p of params) paramLabels[p] = metricSet.has(p) ? `param ${p}` : p;
  for (const m of metrics) metricLabels[m] = paramSet.has(m) ? `metric ${m}` : m;
  return { params, differing, metrics, rows, best, paramLabels, metricLabels };
}

/** Whether a compare row's run is still live (its metrics may change). */
export function isLive(row: ICompareRow): boolean {
  return !isFinal(row.status);
}

/** A column of the compare table to sort by. */
export interface ISortKey {
  kind: 'name' | 'status' | 'duration' | 'param' | 'metric';
  name?: string;
  descending?: boolean;
}

/** The rows sorted by a column: numbers by value, text in natural order, missing values last. */
export function sortRows(rows: readonly ICompareRow[], key: ISortKey): ICompareRow[] {
  const value = (r: ICompareRow): number | string | null => {
    switch (key.kind) {
      case 'name':
        return r.name;
      case 'status':
        return r.status;
      case 'duration':
        return r.duration;
      case 'param': {
        const v = r.params[key.name ?? ''];
        if (v === undefined || v === '–') return null;
        const n = Number(v);
        return v.trim() !== '' && isFinite(n) ? n : v;
      }
      case 'metric':
        return r.metrics[key.name ?? ''] ?? null;
    }
  };
  const sign = key.descending ? -1 : 1;
  return rows
    .map((r, i) => ({ r, i, v: value(r) }))
    .sort((a, b) => {
      if (a.v === null || b.v === null) return a.v === b.v ? a.i - b.i : a.v === null ? 1 : -1;
      const d =
        typeof a.v === 'number' && typeof b.v === 'number'
          ? a.v - b.v
          : String(a.v).localeCompare(String(b.v), undefined, { numeric: true });
      return d * sign || a.i - b.i;
    })
    .map(x => x.r);
}

/**
 * Each run's colour number (the palette's, `seriesColor`) in a compare view: by its place among the
 * view's runs, so a run keeps its colour in the overlay and its table row whatever the sort or the
 * runs hidden from the overlay.
 */
export function runColors(ids: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const id of ids) if (!out.has(id)) out.set(id, out.size);
  return out;
}

/** The runs drawn in the overlay: those of `ids` not hidden, each with its colour number. */
export function overlayRuns(
  ids: readonly string[],
  hidden: ReadonlySet<string>
): { id: string; color: number }[] {
  const colors = runColors(ids);
  return [...colors].filter(([id]) => !hidden.has(id)).map(([id, color]) => ({ id, color }));
}
