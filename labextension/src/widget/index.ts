// The live run widget (anywidget front end): `render({model, el})` draws one run
// from its traits, then follows the `delta` messages the kernel sends.
import 'uplot/dist/uPlot.min.css';
import '../../style/widget.css';
import { h } from '../common/dom';
import { isFinal } from '../common/statuses';
import { SweepView } from '../common/sweep/view';
import { IEntry, RunBuffers } from './buffers';
import { Charts } from './charts';
import { Header } from './header';
import { LogView } from './logview';
import { RegisterBox } from './register';
import { renderAttempts, renderOutputs, renderRootCause } from './results';
import { IModel, num, obj, TraitName, TRAITS, Traits } from './traits';

/**
 * After asking for a fresh `history`, wait this long before asking again, twice as
 * long each time up to SYNC_RETRY_MAX_MS (an unchanged history fires no change event,
 * so an answer is not always seen; a kernel blocked in `wait()` reads none until its
 * cell ends, and sends the history unasked meanwhile: at the start, with each delta
 * while it is small, at each change of status and at the end).
 */
const SYNC_RETRY_MS = 1000;
const SYNC_RETRY_MAX_MS = 16000;
/**
 * Deltas that arrive before the history they follow are kept, at most this many, and
 * applied once it comes (a `history` change is applied asynchronously, so the next
 * delta can overtake it).
 */
const MAX_EARLY_DELTAS = 64;
/** Buffered-but-not-drawn lines beyond which the next frame redraws everything. */
const MAX_PENDING_LINES = 20000;

interface IPending {
  rebuild: boolean;
  allMetrics: boolean;
  lines: Map<string, IEntry[]>;
  partials: Set<string>;
  metrics: Set<string>;
  count: number;
}

function noPending(rebuild: boolean): IPending {
  return {
    rebuild,
    allMetrics: false,
    lines: new Map(),
    partials: new Set(),
    metrics: new Set(),
    count: 0
  };
}

/** One rendering of the widget in a page. */
class RunView {
  constructor(
    private readonly model: IModel,
    el: HTMLElement
  ) {
    this.header = new Header(
      () => this._send({ type: 'cancel' }),
      msg => this._send(msg)
    );
    this.rootCause = h('div', {
      class: 'mltrain-root-cause',
      'data-testid': 'mltrain-root-cause',
      role: 'alert',
      hidden: true
    });
    this.attempts = h('div', {
      class: 'mltrain-section mltrain-attempts-wrap',
      'data-testid': 'mltrain-attempts-wrap',
      hidden: true
    });
    this.logs = new LogView(this.buffers);
    this.charts = new Charts(this.buffers, () => {
      const created = num(this._get('created'));
      return created !== null && created > 0 ? created : null;
    });
    this.outputs = h('div', { class: 'mltrain-section mltrain-outputs-wrap', hidden: true });
    this.register = new RegisterBox(msg => this._send(msg));
    // A sweep's driver run: the sweep's trials; cancelling the driver cancels the sweep.
    this.sweep = new SweepView({ onCancel: () => this._send({ type: 'cancel' }) });
    this.root = h(
      'div',
      { class: 'mltrain-widget' },
      this.header.root,
      this.sweep.root,
      this.rootCause,
      this.attempts,
      this.logs.root,
      this.charts.root,
      this.outputs,
      this.register.root
    );
    el.append(this.root);

    for (const name of TRAITS) this._on(`change:${name}`, () => this._traitChanged(name));
    this._on('change:history', () => this._loadHistory());
    this._on('msg:custom', msg => this._onMessage(obj(msg)));

    this._applyTraits(new Set(TRAITS));
    this._loadHistory();
    // Whatever `history` the page was rendered with may be stale: ask for a fresh one.
    this._requestSync();
  }

  private _on(event: string, cb: (...args: unknown[]) => void): void {
    this.model.on(event, cb);
    this.handlers.push([event, cb]);
  }

  private _send(msg: unknown): void {
    try {
      this.model.send(msg);
    } catch (err) {
      // No kernel (a saved notebook): nothing to talk to.
      console.debug('mltrain widget: cannot send', msg, err);
    }
  }

  private _get(name: string): unknown {
    try {
      return this.model.get(name);
    } catch {
      return undefined;
    }
  }

  private _traits(): Traits {
    const t: Traits = {};
    for (const name of TRAITS) t[name] = this._get(name);
    return t;
  }

  /** Trait changes arrive one event per trait: redraw once for all of them. */
  private _traitChanged(name: TraitName): void {
    if (this.changed) {
      this.changed.add(name);
      return;
    }
    this.changed = new Set([name]);
    queueMicrotask(() => {
      const changed = this.changed!;
      this.changed = null;
      if (this.live) this._applyTraits(changed);
    });
  }

  private _applyTraits(changed: Set<TraitName>): void {
    const t = this._traits();
    this.header.update(t);
    const ranks = num(t.ranks) ?? 0;
    if (changed.has('ranks')) {
      this.logs.setRankCount(ranks);
      this.charts.setRanks(ranks);
    }
    if (changed.has('ranks') || changed.has('last_metrics')) {
      this.charts.setLastMetrics(t.last_metrics, ranks);
    }
    if (changed.has('status') || changed.has('root_cause') || changed.has('exit_codes')) {
      renderRootCause(this.rootCause, t.status, t.root_cause, t.exit_codes);
    }
    if (changed.has('attempts')) renderAttempts(this.attempts, t.attempts);
    if (changed.has('status') || changed.has('outputs')) {
      renderOutputs(this.outputs, t.status, t.outputs);
      this.register.update(t.status, t.outputs);
    }
    if (changed.has('registered')) this.register.showResult(t.registered);
    if (changed.has('sweep')) this.sweep.update(t.sweep);
    if (changed.has('log_paths') || changed.has('files_url')) {
      this.logs.setPaths(t.log_paths, t.files_url);
    }
    // Time axes start at `created`.
    if (changed.has('created')) this._schedule(() => (this.pending.allMetrics = true));
    if (changed.has('status')) this._ticker(!isFinal(t.status));
  }

  private _ticker(on: boolean): void {
    if (on && this.timer === null) this.timer = setInterval(() => this.header.tick(), 1000);
    if (!on && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** Ask the kernel for a fresh `history` (unless just asked), and again later while still behind. */
  private _requestSync(): void {
    const now = Date.now();
    if (now >= this.syncDue) {
      this._send({ type: 'sync' });
      this.syncDue = now + this.syncDelay;
      this.syncDelay = Math.min(this.syncDelay * 2, SYNC_RETRY_MAX_MS);
    }
    if (this.syncTimer === null && this._behind()) {
      this.syncTimer = setTimeout(() => {
        this.syncTimer = null;
        if (this.live && this._behind()) this._requestSync();
      }, this.syncDue - now);
    }
  }

  /** Whether deltas are known to be missing (no numbered history, or a gap before a kept delta). */
  private _behind(): boolean {
    return this.buffers.seq === null || this.early.length > 0;
  }

  private _loadHistory(): void {
    const history = this._get('history');
    const seq = obj(history).seq;
    const applied = this.buffers.seq;
    // A snapshot no newer than what this view has applied brings nothing new (the final one,
    // sent as a run ends, would only cost the reader their scroll position).
    if (applied === null || typeof seq !== 'number' || seq > applied) {
      this.buffers.loadHistory(history);
      this._schedule(() => (this.pending.rebuild = true));
    }
    // An answer: the next sync may go at once.
    this.syncDelay = SYNC_RETRY_MS;
    this.syncDue = 0;
    if (this.syncTimer !== null) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    // Kept deltas newer than the snapshot continue it (or are kept again, and a sync asked).
    const early = this.early;
    this.early = [];
    for (const msg of early) this._onMessage(msg);
  }

  private _onMessage(msg: Record<string, unknown>): void {
    if (msg.type === 'labels') this.header.labelsResult(msg);
    if (msg.type !== 'delta') return;
    const applied = this.buffers.seq;
    if (typeof msg.seq !== 'number') {
      this._requestSync();
      return;
    }
    if (applied !== null && msg.seq <= applied) return;
    if (applied === null || msg.seq !== applied + 1) {
      // A gap: keep the delta for when a history covers what is missing.
      this.early.push(msg);
      if (this.early.length > MAX_EARLY_DELTAS) this.early.shift();
      this._requestSync();
      return;
    }
    this._apply(msg);
    // Kept deltas that now follow on.
    this.early.sort((a, b) => (a.seq as number) - (b.seq as number));
    while (this.early.length && (this.early[0].seq as number) <= this.buffers.seq! + 1) {
      const next = this.early.shift()!;
      if (next.seq === this.buffers.seq! + 1) this._apply(next);
    }
  }

  /** Apply the next delta and schedule what it changed to be drawn. */
  private _apply(msg: Record<string, unknown>): void {
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

  /** Record a change now, draw it at the next animation frame (at most one redraw per frame). */
  private _schedule(record: () => void): void {
    record();
    if (this.frame !== null) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      if (!this.live) return;
      const p = this.pending;
      this.pending = noPending(false);
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

  /** Remove the view and everything it listens to. */
  destroy(): void {
    for (const [event, cb] of this.handlers) {
      try {
        this.model.off?.(event, cb);
      } catch {
        // an older model without off(): the view is going away anyway
      }
    }
    this.handlers = [];
    this._ticker(false);
    if (this.syncTimer !== null) clearTimeout(this.syncTimer);
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    this.header.destroy();
    this.charts.destroy();
    this.sweep.destroy();
    this.logs.destroy();
    this.root.remove();
    this.live = false;
  }

  private live = true;
  private handlers: [string, (...args: unknown[]) => void][] = [];
  private buffers = new RunBuffers();
  private early: Record<string, unknown>[] = [];
  private syncTimer: ReturnType<typeof setTimeout> | null = null;
  private syncDelay = SYNC_RETRY_MS;
  private syncDue = 0;
  private frame: number | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private pending = noPending(true);
  private changed: Set<TraitName> | null = null;
  private header: Header;
  private rootCause: HTMLDivElement;
  private attempts: HTMLDivElement;
  private logs: LogView;
  private charts: Charts;
  private outputs: HTMLDivElement;
  private register: RegisterBox;
  private sweep: SweepView;
  private root: HTMLDivElement;
}

/** anywidget entry point: draw the run in `el`; the returned function removes it. */
function render({ model, el }: { model: IModel; el: HTMLElement }): () => void {
  const view = new RunView(model, el);
  return () => view.destroy();
}

export default { render };
