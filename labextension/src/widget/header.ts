// The run's header: identity, status, elapsed time, tags and note, stage timeline, progress, cancel.
import { stageStatus, statusLabel } from '../common/attempts';
import { stragglerBadge } from '../common/stragglers';
import { h } from '../common/dom';
import { fmtDuration, fmtValue } from '../common/format';
import { isFinal, STAGES } from '../common/statuses';
import { RunLabels } from './labels';
import { num, obj, str, Traits } from './traits';

/** How long a cancel may go unacknowledged before the button is offered again. */
const CANCEL_RETRY_MS = 15000;

/** [name, start] of every stage with a time, by start time. */
function stageList(stages: unknown): [string, number][] {
  return Object.entries(obj(stages))
    .filter((e): e is [string, number] => num(e[1]) !== null)
    .sort(
      (a, b) => a[1] - b[1] || STAGES.indexOf(stageStatus(a[0])) - STAGES.indexOf(stageStatus(b[0]))
    );
}

interface ISegment {
  seg: HTMLDivElement;
  label: HTMLSpanElement;
  dur: HTMLSpanElement;
}

/** The header of the widget; `update(traits)` redraws it, `tick()` what depends on the clock. */
export class Header {
  /** `onCancel()` is called once the user confirms; `send` takes the tags and note edits (`labels`). */
  constructor(
    private readonly onCancel: () => void,
    send: (msg: Record<string, unknown>) => void = () => undefined
  ) {
    this.labelsRow = new RunLabels(send);
    this.status = h('span', {
      class: 'mltrain-status',
      'data-testid': 'mltrain-status',
      role: 'status'
    });
    this.name = h('span', { class: 'mltrain-name' });
    this.id = h('span', { class: 'mltrain-id' });
    this.elapsed = h('span', { class: 'mltrain-elapsed' });
    this.cancelBtn = h(
      'button',
      { type: 'button', class: 'mltrain-button mltrain-cancel', 'data-testid': 'mltrain-cancel' },
      'Cancel'
    );
    this.cancelBtn.addEventListener('click', () => {
      this.confirming = true;
      this._renderCancel();
    });
    const yes = h(
      'button',
      {
        type: 'button',
        class: 'mltrain-button mltrain-button-danger',
        'data-testid': 'mltrain-cancel-yes'
      },
      'Yes'
    );
    const no = h(
      'button',
      { type: 'button', class: 'mltrain-button', 'data-testid': 'mltrain-cancel-no' },
      'No'
    );
    yes.addEventListener('click', () => {
      this.confirming = false;
      this.localCancel = true;
      this.onCancel();
      // If the server never acknowledges, offer the button again.
      clearTimeout(this.cancelTimer);
      this.cancelTimer = setTimeout(() => {
        this.localCancel = false;
        this._renderCancel();
      }, CANCEL_RETRY_MS);
      this._renderCancel();
    });
    no.addEventListener('click', () => {
      this.confirming = false;
      this._renderCancel();
    });
    this.confirm = h(
      'span',
      { class: 'mltrain-confirm', role: 'group', hidden: true },
      h('span', null, 'Cancel this run?'),
      yes,
      no
    );
    this.meta = h('div', { class: 'mltrain-meta' });
    this.bar = h('div', {
      class: 'mltrain-timeline',
      'data-testid': 'mltrain-timeline',
      role: 'img'
    });
    this.labels = h('div', { class: 'mltrain-timeline-labels' });
    this.progFill = h('div', { class: 'mltrain-progress-fill' });
    this.progText = h('span', { class: 'mltrain-progress-text' });
    this.progBar = h(
      'div',
      { class: 'mltrain-progress-bar', role: 'progressbar', 'aria-valuemin': 0 },
      this.progFill
    );
    this.progress = h(
      'div',
      { class: 'mltrain-progress', 'data-testid': 'mltrain-progress', hidden: true },
      this.progBar,
      this.progText
    );
    this.root = h(
      'div',
      { class: 'mltrain-header' },
      h(
        'div',
        { class: 'mltrain-titlerow' },
        this.status,
        this.name,
        this.id,
        this.stragglers,
        h('span', { class: 'mltrain-spacer' }),
        this.elapsed,
        this.confirm,
        this.cancelBtn
      ),
      this.meta,
      this.labelsRow.root,
      h('div', { class: 'mltrain-timeline-wrap' }, this.bar, this.labels),
      this.progress
    );
  }

  /** The header's element. */
  readonly root: HTMLDivElement;

  /** Stop its timers. */
  destroy(): void {
    clearTimeout(this.cancelTimer);
  }

  /** Server "now" in epoch seconds, corrected for clock skew. */
  now(): number {
    return Date.now() / 1000 + this.skew;
  }

  /** Whether the run has ended. */
  isFinal(): boolean {
    return isFinal(this.t.status);
  }

  /** Take the latest traits and redraw. */
  update(t: Traits): void {
    const clock = num(t.clock);
    if (clock !== null && clock > 0 && t.clock !== this.t.clock) {
      this.skew = clock - Date.now() / 1000;
    }
    if (t.cancel_pending !== this.t.cancel_pending) this.localCancel = false;
    this.t = t;
    const status = str(t.status) || 'Queued';
    this.status.textContent = statusLabel(status, t.attempt);
    this.status.dataset.status = status;
    this.status.className = `mltrain-status mltrain-status-${status.toLowerCase()}`;
    const runName = str(t.run_name);
    const runId = str(t.run_id);
    this.name.textContent = runName || runId || 'run';
    this.id.textContent = runName && runId ? runId : '';
    this.id.title = 'run id';
    const ended = isFinal(status) ? (num(t.ended) ?? num(t.created)) : null;
    this.stragglers.replaceChildren(stragglerBadge(t.stragglers, ended) ?? '');

    const meta: HTMLElement[] = [];
    const item = (label: string, value: string): void => {
      meta.push(
        h(
          'span',
          { class: 'mltrain-meta-item' },
          h('span', { class: 'mltrain-meta-label' }, label),
          ' ',
          h('b', null, value)
        )
      );
    };
    if (t.experiment) item('experiment', str(t.experiment));
    if (t.target) item('target', str(t.target));
    if (t.mode) item('mode', str(t.mode));
    if (num(t.ranks) !== null) item('ranks', String(t.ranks));
    this.stageItem = h('span', { class: 'mltrain-meta-item' });
    meta.push(this.stageItem);
    this.meta.replaceChildren(...meta);
    this.labelsRow.update(t.tags, t.note);

    this._renderProgress();
    this._renderCancel();
    this.tick();
  }

  /** Redraw what depends on the clock: elapsed time, current stage, timeline. */
  tick(): void {
    const t = this.t;
    const list = stageList(t.stages);
    const final = this.isFinal();
    const created = num(t.created);
    const start = created !== null && created > 0 ? created : list.length ? list[0][1] : null;
    const end = final
      ? (num(t.ended) ?? (list.length ? list[list.length - 1][1] : null))
      : this.now();
    if (start !== null && end !== null) {
      this.elapsed.textContent = final
        ? `took ${fmtDuration(end - start)}`
        : `elapsed ${fmtDuration(end - start, true)}`;
      this.elapsed.title = final ? 'run duration' : 'time since the run was created';
    } else {
      this.elapsed.textContent = '';
    }

    // Stage segments: each lasts until the next stage began (the last one: until the end or now).
    const segs: [string, number, number][] = [];
    for (let i = 0; i < list.length; i++) {
      const [name, s] = list[i];
      if (isFinal(name)) continue;
      const e = i + 1 < list.length ? list[i + 1][1] : end;
      segs.push([name, s, e === null ? s : Math.max(s, e)]);
    }
    const current = list.length ? list[list.length - 1] : null;
    if (current) {
      const inStage =
        !isFinal(current[0]) && end !== null ? ` ${fmtDuration(end - current[1], true)}` : '';
      this.stageItem.replaceChildren(
        h('span', { class: 'mltrain-meta-label' }, 'stage'),
        ' ',
        h('b', null, current[0]),
        inStage
      );
    } else {
      this.stageItem.replaceChildren();
    }
    this._renderTimeline(segs);
  }

  private _renderTimeline(segs: [string, number, number][]): void {
    const names = new Set(segs.map(s => s[0]));
    for (const [name, s] of this.segs) {
      if (!names.has(name)) {
        s.seg.remove();
        s.label.remove();
        this.segs.delete(name);
      }
    }
    const total = segs.reduce((a, [, s, e]) => a + (e - s), 0);
    const final = this.isFinal();
    segs.forEach(([name, s, e], i) => {
      let x = this.segs.get(name);
      const cls = `mltrain-stage-${stageStatus(name).toLowerCase()}`;
      if (!x) {
        const dur = h('span', { class: 'mltrain-timeline-dur' });
        x = {
          seg: h('div', { class: `mltrain-timeline-seg ${cls}` }),
          label: h(
            'span',
            { class: 'mltrain-timeline-label' },
            h('span', { class: `mltrain-swatch ${cls}` }),
            name,
            ' ',
            dur
          ),
          dur
        };
        this.segs.set(name, x);
      }
      // Keep DOM order = time order.
      if (this.bar.children[i] !== x.seg)
        this.bar.insertBefore(x.seg, this.bar.children[i] ?? null);
      if (this.labels.children[i] !== x.label) {
        this.labels.insertBefore(x.label, this.labels.children[i] ?? null);
      }
      const d = e - s;
      x.seg.style.flexGrow = String(total > 0 ? d / total : 1);
      const live = !final && i === segs.length - 1;
      x.seg.classList.toggle('mltrain-live', live);
      x.seg.title = `${name}: ${fmtDuration(d)}${live ? ' (so far)' : ''}`;
      x.dur.textContent = fmtDuration(d);
    });
    this.bar.setAttribute(
      'aria-label',
      segs.map(([n, s, e]) => `${n} ${fmtDuration(e - s)}`).join(', ')
    );
    this.bar.hidden = segs.length === 0;
  }

  private _renderProgress(): void {
    const p = obj(this.t.progress);
    const step = num(p.step);
    if (step === null) {
      this.progress.hidden = true;
      return;
    }
    this.progress.hidden = false;
    const total = num(p.total);
    const time = num(p.time);
    // it/s from the first progress this view saw (a later restart of steps resets it).
    if (!this.rate || step < this.rate.step) this.rate = time !== null ? { step, time } : null;
    let rate: number | null = null;
    if (this.rate && time !== null && time - this.rate.time >= 1 && step > this.rate.step) {
      rate = (step - this.rate.step) / (time - this.rate.time);
    }
    const parts: string[] = [];
    const final = this.isFinal();
    const max = total !== null && total > 0 ? total : null; // null: indeterminate
    this.progress.classList.toggle('mltrain-progress-indeterminate', max === null && !final);
    if (max === null) {
      this.progFill.style.width = '';
      this.progBar.removeAttribute('aria-valuenow');
      parts.push(`step ${step}`);
    } else {
      const pct = Math.min(100, Math.max(0, (step / max) * 100));
      this.progFill.style.width = `${pct}%`;
      this.progBar.setAttribute('aria-valuemax', String(max));
      this.progBar.setAttribute('aria-valuenow', String(step));
      parts.push(`step ${step} / ${max}`, `${pct < 10 ? pct.toFixed(1) : Math.floor(pct)}%`);
    }
    if (num(p.rank) !== null) parts.push(`rank ${p.rank}`);
    if (rate !== null && !final) {
      parts.push(`${fmtValue(Number(rate.toPrecision(3)))} steps/s`);
      if (max !== null && step < max) parts.push(`ETA ${fmtDuration((max - step) / rate)}`);
    }
    this.progText.textContent = parts.join(' · ');
  }

  private _renderCancel(): void {
    const final = this.isFinal();
    const pending = !final && (this.t.cancel_pending === true || this.localCancel);
    if (final) this.confirming = false;
    this.confirm.hidden = !this.confirming || pending;
    this.cancelBtn.hidden = final || (this.confirming && !pending);
    this.cancelBtn.disabled = pending;
    this.cancelBtn.textContent = pending ? 'Canceling…' : 'Cancel';
  }

  /** The kernel's answer to a tags or note edit. */
  labelsResult(msg: Record<string, unknown>): void {
    this.labelsRow.showResult(msg);
  }

  private labelsRow: RunLabels;
  private skew = 0; // server clock - local clock, seconds
  private t: Traits = {};
  private confirming = false;
  private localCancel = false;
  private rate: { step: number; time: number } | null = null; // the first progress seen, for it/s
  private cancelTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  private segs = new Map<string, ISegment>();
  private stragglers: HTMLSpanElement = h('span', { class: 'mltrain-stragglers' });
  private stageItem: HTMLSpanElement = h('span', { class: 'mltrain-meta-item' });
  private status: HTMLSpanElement;
  private name: HTMLSpanElement;
  private id: HTMLSpanElement;
  private elapsed: HTMLSpanElement;
  private cancelBtn: HTMLButtonElement;
  private confirm: HTMLSpanElement;
  private meta: HTMLDivElement;
  private bar: HTMLDivElement;
  private labels: HTMLDivElement;
  private progFill: HTMLDivElement;
  private progText: HTMLSpanElement;
  private progBar: HTMLDivElement;
  private progress: HTMLDivElement;
}
