// The widget's memory of a run's logs and metric series: built from a `history`
// snapshot, extended by `delta` messages, bounded in size. No DOM here.
import { ISeries, pushPoint, seriesOf, thin, toAttempt, toY } from '../common/series';
import { obj } from './traits';

/** Lines kept per rank (older ones are dropped and counted). */
export const MAX_LINES = 5000;

/**
 * An entry of a rank's log: a line `{k, t}` or a skip marker `{k, skip}` (lines Python
 * dropped at that point); `k` orders entries across ranks; `h` caches the line's HTML.
 */
export interface IEntry {
  k: number;
  t?: string;
  skip?: number;
  h?: string;
}

/**
 * One rank's log. `entries` are in arrival order. `total` counts every line ever accounted
 * for (shown, dropped or skipped), so "not shown" = total - shown.
 */
export class RankLog {
  /** Entries kept, oldest first. */
  entries: IEntry[] = [];
  /** Every line accounted for. */
  total = 0;
  /** The unfinished last line ('' when none). */
  partial = '';
}

/** What one delta changed: rank -> new entries, ranks whose partial line changed, metrics with new points. */
export interface IChanges {
  lines: Map<string, IEntry[]>;
  partials: Set<string>;
  metrics: Set<string>;
}

/** A run's logs (per rank) and metric series (per metric, per rank), as the widget holds them. */
export class RunBuffers {
  /** rank -> log */
  logs = new Map<string, RankLog>();
  /** metric -> rank -> series */
  series = new Map<string, Map<string, ISeries>>();
  /** metric -> "step" | "time" */
  xKind: Record<string, unknown> = {};
  /** Number of the last batch of lines (orders entries across ranks). */
  batch = 0;
  /** Sequence number of the last applied delta; null when unknown. */
  seq: number | null = null;
  /** The highest attempt of any point (above 1: the run restarted). */
  maxAttempt = 1;

  /** Forget everything. */
  reset(): void {
    this.maxAttempt = 1;
    this.logs = new Map();
    this.series = new Map();
    this.xKind = {};
    this.batch = 0;
    this.seq = null;
  }

  /** A rank's log (created on first use). */
  rank(r: string | number): RankLog {
    const key = String(r);
    let rl = this.logs.get(key);
    if (!rl) {
      rl = new RankLog();
      this.logs.set(key, rl);
    }
    return rl;
  }

  /** Append a batch of lines (and a skip marker first if any were dropped); return the new entries kept. */
  private _addLines(rl: RankLog, lines: unknown[], skipped: number, base: number): IEntry[] {
    const added: IEntry[] = [];
    if (skipped > 0) {
      added.push({ k: base, skip: skipped });
      rl.total += skipped;
    }
    const n = lines.length;
    for (let i = 0; i < n; i++) added.push({ k: base + (i + 0.5) / n, t: String(lines[i]) });
    rl.total += n;
    if (added.length === 0) return added;
    for (const e of added) rl.entries.push(e);
    const excess = rl.entries.length - MAX_LINES;
    if (excess > 0) rl.entries.splice(0, excess);
    return added.length > MAX_LINES ? added.slice(-MAX_LINES) : added;
  }

  /**
   * Append `[xs, ys]` or `[xs, ys, attempts]` (each point's attempt of a restarted run;
   * absent or a missing entry means 1) to a metric's series of a rank; whether there were any.
   * `times` (a step metric's: each point's seconds since the run's created) go to the series'
   * `t` while every point of it has one; a point without drops them (no time axis for it then).
   */
  private _addPoints(metric: string, rank: string, pts: unknown, times?: unknown): boolean {
    if (!Array.isArray(pts) || pts.length < 2) return false;
    const [xs, ys, as] = pts as unknown[];
    if (!Array.isArray(xs) || !Array.isArray(ys)) return false;
    const attempts: unknown[] = Array.isArray(as) ? as : [];
    const s = seriesOf(this.series, metric, rank);
    const n = Math.min(xs.length, ys.length);
    const ts = Array.isArray(times) && times.length === n ? times : null;
    if (ts && s.x.length === 0) s.t = [];
    else if (!ts) delete s.t;
    for (let i = 0; i < n; i++) {
      const x = Number(xs[i]);
      if (!isFinite(x)) continue;
      const a = toAttempt(attempts[i]);
      if (a > this.maxAttempt) this.maxAttempt = a;
      pushPoint(s, x, toY(ys[i]), a);
      if (s.t) s.t.push(Number(ts![i]) || 0);
    }
    thin(s);
    return n > 0;
  }

  /** Replace everything with a `history` snapshot (which may be empty, null or partial). */
  loadHistory(history: unknown): void {
    this.reset();
    const h = obj(history);
    this.seq = typeof h.seq === 'number' ? h.seq : null;
    const logs = obj(h.logs);
    for (const r of Object.keys(logs)) {
      this._addLines(this.rank(r), Array.isArray(logs[r]) ? logs[r] : [], 0, 0);
    }
    // Where in the stream these were dropped is unknown: count them as "earlier".
    for (const [r, n] of Object.entries(obj(h.skipped))) {
      if (typeof n === 'number' && n > 0) this.rank(r).total += n;
    }
    for (const [r, p] of Object.entries(obj(h.partial))) {
      this.rank(r).partial = p === null || p === undefined ? '' : String(p);
    }
    const times = obj(h.times);
    for (const [metric, byRank] of Object.entries(obj(h.series))) {
      const ts = obj(times[metric]);
      for (const [r, pts] of Object.entries(obj(byRank))) this._addPoints(metric, r, pts, ts[r]);
    }
    Object.assign(this.xKind, obj(h.x_kind));
    this.batch = 1;
  }

  /** Apply one `delta` message; returns what changed. */
  applyDelta(msg: Record<string, unknown>): IChanges {
    const base = ++this.batch;
    const logs = obj(msg.logs);
    const skipped = obj(msg.skipped);
    const partial = obj(msg.partial);
    const lines = new Map<string, IEntry[]>();
    const partials = new Set<string>();
    const metrics = new Set<string>();
    for (const r of new Set([...Object.keys(logs), ...Object.keys(skipped)])) {
      const ls = Array.isArray(logs[r]) ? (logs[r] as unknown[]) : [];
      const sk = typeof skipped[r] === 'number' ? (skipped[r] as number) : 0;
      if (ls.length === 0 && sk <= 0) continue;
      const rl = this.rank(r);
      lines.set(r, this._addLines(rl, ls, sk, base));
      // New complete lines end the previous partial line; a new one comes in `partial`.
      if (ls.length > 0 && !(r in partial) && rl.partial !== '') {
        rl.partial = '';
        partials.add(r);
      }
    }
    for (const [r, p] of Object.entries(partial)) {
      const rl = this.rank(r);
      const v = p === null || p === undefined ? '' : String(p);
      if (rl.partial !== v) {
        rl.partial = v;
        partials.add(r);
      }
    }
    const times = obj(msg.times);
    for (const [metric, byRank] of Object.entries(obj(msg.points))) {
      const ts = obj(times[metric]);
      for (const [r, pts] of Object.entries(obj(byRank))) {
        if (this._addPoints(metric, r, pts, ts[r])) metrics.add(metric);
      }
    }
    Object.assign(this.xKind, obj(msg.x_kind));
    if (typeof msg.seq === 'number') this.seq = msg.seq;
    return { lines, partials, metrics };
  }
}
