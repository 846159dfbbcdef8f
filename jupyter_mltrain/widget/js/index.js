// The live run widget (anywidget front end): `render({model, el})` draws one run
// from its traits, then follows the `delta` messages the kernel sends.
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { RunBuffers } from "./buffers.js";
import { Charts } from "./charts.js";
import { FINAL, h, num } from "./format.js";
import { Header } from "./header.js";
import { LogView } from "./logview.js";
import { renderOutputs, renderRootCause } from "./panels.js";

const TRAITS = [
  "run_id", "run_name", "experiment", "target", "mode", "ranks", "status", "stages",
  "created", "ended", "clock", "progress", "last_metrics", "root_cause", "outputs",
  "log_paths", "files_url", "cancel_pending",
];

/**
 * After asking for a fresh `history`, wait this long before asking again (an
 * unchanged history fires no change event, so an answer is not always seen).
 */
const SYNC_RETRY_MS = 1500;
/** Buffered-but-not-drawn lines beyond which the next frame redraws everything. */
const MAX_PENDING_LINES = 20000;

class RunView {
  constructor(model, el) {
    this.model = model;
    this.handlers = [];
    this.buffers = new RunBuffers();
    this.syncSentAt = null;
    this.frame = null;
    this.timer = null;
    this._resetPending(true);

    this.header = new Header(() => this._send({ type: "cancel" }));
    this.rootCause = h("div", { class: "mltrain-root-cause", "data-testid": "mltrain-root-cause", role: "alert", hidden: true });
    this.logs = new LogView(this.buffers);
    this.charts = new Charts(this.buffers, () => (num(this._get("created")) > 0 ? this._get("created") : null));
    this.outputs = h("div", { class: "mltrain-section mltrain-outputs-wrap", hidden: true });
    this.root = h("div", { class: "mltrain-widget" }, this.header.root, this.rootCause, this.logs.root, this.charts.root, this.outputs);
    el.append(this.root);

    this._changed = null;
    for (const name of TRAITS) this._on(`change:${name}`, () => this._traitChanged(name));
    this._on("change:history", () => this._loadHistory());
    this._on("msg:custom", (msg) => this._onMessage(msg));

    this._applyTraits(new Set(TRAITS));
    this._loadHistory();
    // Whatever `history` the page was rendered with may be stale: ask for a fresh one.
    this._requestSync();
  }

  _on(event, cb) {
    this.model.on(event, cb);
    this.handlers.push([event, cb]);
  }

  _send(msg) {
    try {
      this.model.send(msg);
    } catch (err) {
      // No kernel (a saved notebook): nothing to talk to.
      console.debug("mltrain widget: cannot send", msg, err);
    }
  }

  _get(name) {
    try {
      return this.model.get(name);
    } catch (_) {
      return undefined;
    }
  }

  _traits() {
    const t = {};
    for (const name of TRAITS) t[name] = this._get(name);
    return t;
  }

  /** Trait changes arrive one event per trait: redraw once for all of them. */
  _traitChanged(name) {
    if (this._changed) {
      this._changed.add(name);
      return;
    }
    this._changed = new Set([name]);
    queueMicrotask(() => {
      const changed = this._changed;
      this._changed = null;
      if (this.root) this._applyTraits(changed);
    });
  }

  _applyTraits(changed) {
    const t = this._traits();
    this.header.update(t);
    const ranks = num(t.ranks) ?? 0;
    if (changed.has("ranks")) {
      this.logs.setRankCount(ranks);
      this.charts.setRanks(ranks);
    }
    if (changed.has("ranks") || changed.has("last_metrics")) this.charts.setLastMetrics(t.last_metrics, ranks);
    if (changed.has("status") || changed.has("root_cause")) renderRootCause(this.rootCause, t.status, t.root_cause);
    if (changed.has("status") || changed.has("outputs")) renderOutputs(this.outputs, t.status, t.outputs);
    if (changed.has("log_paths") || changed.has("files_url")) this.logs.setPaths(t.log_paths, t.files_url);
    if (changed.has("created")) this._schedule(() => (this.pending.allMetrics = true)); // time axes start at `created`
    if (changed.has("status")) this._ticker(!FINAL.has(t.status));
  }

  _ticker(on) {
    if (on && this.timer == null) this.timer = setInterval(() => this.header.tick(), 1000);
    if (!on && this.timer != null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  _requestSync() {
    const now = Date.now();
    if (this.syncSentAt != null && now - this.syncSentAt < SYNC_RETRY_MS) return;
    this.syncSentAt = now;
    this._send({ type: "sync" });
  }

  _loadHistory() {
    const history = this._get("history");
    const seq = history && typeof history === "object" ? history.seq : undefined;
    const applied = this.buffers.seq;
    // A snapshot no newer than what this view has applied brings nothing new (the final one,
    // sent as a run ends, would only cost the reader their scroll position).
    if (applied != null && typeof seq === "number" && seq <= applied) return;
    this.buffers.loadHistory(history);
    this.syncSentAt = null;
    this._schedule(() => (this.pending.rebuild = true));
  }

  _onMessage(msg) {
    if (!msg || msg.type !== "delta") return;
    const applied = this.buffers.seq;
    if (typeof msg.seq !== "number" || applied == null) {
      this._requestSync();
      return;
    }
    if (msg.seq <= applied) return;
    if (msg.seq !== applied + 1) {
      this._requestSync();
      return;
    }
    const ch = this.buffers.applyDelta(msg);
    this._schedule(() => {
      const p = this.pending;
      if (p.rebuild) return;
      for (const [r, es] of ch.lines) {
        const list = p.lines.get(r);
        if (list) for (const e of es) list.push(e);
        else p.lines.set(r, es.slice());
        p.count += es.length;
      }
      for (const r of ch.partials) p.partials.add(r);
      for (const m of ch.metrics) p.metrics.add(m);
      if (p.count > MAX_PENDING_LINES) p.rebuild = true;
      if (ch.lines.size) this.logs.refreshRanks(); // a rank seen for the first time
    });
  }

  _resetPending(rebuild) {
    this.pending = { rebuild, allMetrics: false, lines: new Map(), partials: new Set(), metrics: new Set(), count: 0 };
  }

  /** Record a change now, draw it at the next animation frame (at most one redraw per frame). */
  _schedule(record) {
    record();
    if (this.frame != null) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      if (!this.root) return;
      const p = this.pending;
      this._resetPending(false);
      if (p.rebuild) {
        this.logs.refreshRanks();
        this.logs.rebuild();
        this.charts.update(null);
      } else {
        this.logs.append(p.lines, p.partials);
        if (p.allMetrics) this.charts.update(null);
        else if (p.metrics.size) this.charts.update(p.metrics);
      }
    });
  }

  destroy() {
    for (const [event, cb] of this.handlers) {
      try {
        this.model.off(event, cb);
      } catch (_) {
        // an older model without off(): the view is going away anyway
      }
    }
    this.handlers = [];
    this._ticker(false);
    if (this.frame != null) cancelAnimationFrame(this.frame);
    this.header.destroy();
    this.charts.destroy();
    this.logs.destroy();
    this.root.remove();
    this.root = null;
  }
}

/** anywidget entry point. */
function render({ model, el }) {
  const view = new RunView(model, el);
  return () => view.destroy();
}

export default { render };
