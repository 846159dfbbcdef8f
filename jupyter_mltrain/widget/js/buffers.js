// The widget's memory of a run's logs and metric series: built from a `history`
// snapshot, extended by `delta` messages, bounded in size. No DOM here.
import { obj } from "./format.js";

/** Lines kept per rank (older ones are dropped and counted). */
export const MAX_LINES = 5000;
/** Points kept per series (the oldest half is thinned when over). */
export const MAX_POINTS = 5000;

/**
 * One rank's log. `entries` are in arrival order, each either a line
 * `{k, t}` or a skip marker `{k, skip}` (lines Python dropped at that point);
 * `k` orders entries across ranks. `total` counts every line ever accounted
 * for (shown, dropped or skipped), so "not shown" = total - shown.
 */
class RankLog {
  constructor() {
    this.entries = [];
    this.total = 0;
    this.partial = "";
  }
}

/** Thin the oldest half of a series (every second point) until it fits. */
function decimate(s) {
  while (s.x.length > MAX_POINTS) {
    const n = s.x.length;
    const half = n >> 1;
    const x = [], y = [];
    for (let i = 0; i < half; i += 2) {
      x.push(s.x[i]);
      y.push(s.y[i]);
    }
    for (let i = half; i < n; i++) {
      x.push(s.x[i]);
      y.push(s.y[i]);
    }
    s.x = x;
    s.y = y;
  }
}

function toY(v) {
  return typeof v === "number" && isFinite(v) ? v : null;
}

export class RunBuffers {
  constructor() {
    this.reset();
  }

  reset() {
    /** @type {Map<string, RankLog>} */
    this.logs = new Map();
    /** @type {Map<string, Map<string, {x: number[], y: (number|null)[]}>>} metric -> rank -> series */
    this.series = new Map();
    /** @type {Record<string, string>} metric -> "step" | "time" */
    this.xKind = {};
    this.batch = 0;
    /** Sequence number of the last applied delta; null when unknown. */
    this.seq = null;
  }

  rank(r) {
    r = String(r);
    let rl = this.logs.get(r);
    if (!rl) {
      rl = new RankLog();
      this.logs.set(r, rl);
    }
    return rl;
  }

  /** Append a batch of lines (and a skip marker first if any were dropped); return the new entries kept. */
  _addLines(rl, lines, skipped, base) {
    const added = [];
    if (skipped > 0) {
      added.push({ k: base, skip: skipped });
      rl.total += skipped;
    }
    const n = lines.length;
    for (let i = 0; i < n; i++) {
      added.push({ k: base + (i + 0.5) / n, t: String(lines[i]) });
    }
    rl.total += n;
    if (added.length === 0) return added;
    for (const e of added) rl.entries.push(e);
    const excess = rl.entries.length - MAX_LINES;
    if (excess > 0) rl.entries.splice(0, excess);
    return added.length > MAX_LINES ? added.slice(-MAX_LINES) : added;
  }

  _addPoints(metric, r, pts) {
    if (!Array.isArray(pts) || pts.length < 2) return false;
    const xs = pts[0], ys = pts[1];
    if (!Array.isArray(xs) || !Array.isArray(ys)) return false;
    let m = this.series.get(metric);
    if (!m) {
      m = new Map();
      this.series.set(metric, m);
    }
    r = String(r);
    let s = m.get(r);
    if (!s) {
      s = { x: [], y: [] };
      m.set(r, s);
    }
    const n = Math.min(xs.length, ys.length);
    for (let i = 0; i < n; i++) {
      const x = Number(xs[i]);
      if (!isFinite(x)) continue;
      s.x.push(x);
      s.y.push(toY(ys[i]));
    }
    decimate(s);
    return n > 0;
  }

  /** Replace everything with a `history` snapshot (which may be empty, null or partial). */
  loadHistory(history) {
    this.reset();
    const h = obj(history);
    this.seq = typeof h.seq === "number" ? h.seq : null;
    const logs = obj(h.logs);
    const skipped = obj(h.skipped);
    for (const r of Object.keys(logs)) {
      const lines = Array.isArray(logs[r]) ? logs[r] : [];
      this._addLines(this.rank(r), lines, 0, 0);
    }
    // Where in the stream these were dropped is unknown: count them as "earlier".
    for (const [r, n] of Object.entries(skipped)) {
      if (typeof n === "number" && n > 0) this.rank(r).total += n;
    }
    for (const [r, p] of Object.entries(obj(h.partial))) {
      this.rank(r).partial = p == null ? "" : String(p);
    }
    for (const [metric, byRank] of Object.entries(obj(h.series))) {
      for (const [r, pts] of Object.entries(obj(byRank))) this._addPoints(metric, r, pts);
    }
    Object.assign(this.xKind, obj(h.x_kind));
    this.batch = 1;
  }

  /**
   * Apply one `delta` message. Returns what changed:
   * `lines`: rank -> new entries, `partials`: ranks whose partial line changed,
   * `metrics`: metrics with new points.
   */
  applyDelta(msg) {
    const base = ++this.batch;
    const logs = obj(msg.logs);
    const skipped = obj(msg.skipped);
    const partial = obj(msg.partial);
    const lines = new Map();
    const partials = new Set();
    const metrics = new Set();
    const ranks = new Set([...Object.keys(logs), ...Object.keys(skipped)]);
    for (const r of ranks) {
      const ls = Array.isArray(logs[r]) ? logs[r] : [];
      const sk = typeof skipped[r] === "number" ? skipped[r] : 0;
      if (ls.length === 0 && sk <= 0) continue;
      const rl = this.rank(r);
      lines.set(r, this._addLines(rl, ls, sk, base));
      // New complete lines end the previous partial line; a new one comes in `partial`.
      if (ls.length > 0 && !(r in partial) && rl.partial !== "") {
        rl.partial = "";
        partials.add(r);
      }
    }
    for (const [r, p] of Object.entries(partial)) {
      const rl = this.rank(r);
      const v = p == null ? "" : String(p);
      if (rl.partial !== v) {
        rl.partial = v;
        partials.add(r);
      }
    }
    for (const [metric, byRank] of Object.entries(obj(msg.points))) {
      for (const [r, pts] of Object.entries(obj(byRank))) {
        if (this._addPoints(metric, r, pts)) metrics.add(metric);
      }
    }
    Object.assign(this.xKind, obj(msg.x_kind));
    if (typeof msg.seq === "number") this.seq = msg.seq;
    return { lines, partials, metrics };
  }
}
