// The run's header: identity, status, elapsed time, stage timeline, progress, cancel.
import { FINAL, STAGES, fmtDuration, fmtValue, h, num, obj } from "./format.js";

/** [name, start] of every stage with a time, by start time. */
function stageList(stages) {
  return Object.entries(obj(stages))
    .filter(([, t]) => num(t) != null)
    .sort((a, b) => a[1] - b[1] || STAGES.indexOf(a[0]) - STAGES.indexOf(b[0]));
}

export class Header {
  /** `onCancel()` is called once the user confirms. */
  constructor(onCancel) {
    this.onCancel = onCancel;
    this.skew = 0; // server clock - local clock, seconds
    this.t = {};
    this.confirming = false;
    this.localCancel = false;
    this.rate = null; // {step, time} of the first progress seen, for it/s

    this.status = h("span", { class: "mltrain-status", "data-testid": "mltrain-status", role: "status" });
    this.name = h("span", { class: "mltrain-name" });
    this.id = h("span", { class: "mltrain-id" });
    this.elapsed = h("span", { class: "mltrain-elapsed" });
    this.cancelBtn = h("button", { type: "button", class: "mltrain-button mltrain-cancel", "data-testid": "mltrain-cancel" }, "Cancel");
    this.cancelBtn.addEventListener("click", () => {
      this.confirming = true;
      this._renderCancel();
    });
    const yes = h("button", { type: "button", class: "mltrain-button mltrain-button-danger", "data-testid": "mltrain-cancel-yes" }, "Yes");
    const no = h("button", { type: "button", class: "mltrain-button", "data-testid": "mltrain-cancel-no" }, "No");
    yes.addEventListener("click", () => {
      this.confirming = false;
      this.localCancel = true;
      this.onCancel();
      // If the server never acknowledges, offer the button again.
      clearTimeout(this.cancelTimer);
      this.cancelTimer = setTimeout(() => {
        this.localCancel = false;
        this._renderCancel();
      }, 15000);
      this._renderCancel();
    });
    no.addEventListener("click", () => {
      this.confirming = false;
      this._renderCancel();
    });
    this.confirm = h("span", { class: "mltrain-confirm", role: "group", hidden: true }, h("span", null, "Cancel this run?"), yes, no);
    this.meta = h("div", { class: "mltrain-meta" });
    this.bar = h("div", { class: "mltrain-timeline", "data-testid": "mltrain-timeline", role: "img" });
    this.labels = h("div", { class: "mltrain-timeline-labels" });
    this.segs = new Map(); // stage -> {seg, label, dur}

    this.progFill = h("div", { class: "mltrain-progress-fill" });
    this.progText = h("span", { class: "mltrain-progress-text" });
    this.progBar = h("div", { class: "mltrain-progress-bar", role: "progressbar", "aria-valuemin": 0 }, this.progFill);
    this.progress = h("div", { class: "mltrain-progress", "data-testid": "mltrain-progress", hidden: true }, this.progBar, this.progText);

    this.root = h(
      "div",
      { class: "mltrain-header" },
      h("div", { class: "mltrain-titlerow" }, this.status, this.name, this.id, h("span", { class: "mltrain-spacer" }), this.elapsed, this.confirm, this.cancelBtn),
      this.meta,
      h("div", { class: "mltrain-timeline-wrap" }, this.bar, this.labels),
      this.progress,
    );
  }

  destroy() {
    clearTimeout(this.cancelTimer);
  }

  /** Server "now" in epoch seconds, corrected for clock skew. */
  now() {
    return Date.now() / 1000 + this.skew;
  }

  isFinal() {
    return FINAL.has(this.t.status);
  }

  /** Take the latest traits (a plain object of values) and redraw. */
  update(t) {
    if (num(t.clock) > 0 && t.clock !== this.t.clock) this.skew = t.clock - Date.now() / 1000;
    if (t.cancel_pending !== this.t.cancel_pending) this.localCancel = false;
    this.t = t;
    const status = typeof t.status === "string" && t.status ? t.status : "Queued";
    this.status.textContent = status;
    this.status.dataset.status = status;
    this.status.className = `mltrain-status mltrain-status-${status.toLowerCase()}`;
    this.name.textContent = t.run_name || t.run_id || "run";
    this.id.textContent = t.run_name && t.run_id ? t.run_id : "";
    this.id.title = "run id";

    const meta = [];
    const item = (label, value) => meta.push(h("span", { class: "mltrain-meta-item" }, h("span", { class: "mltrain-meta-label" }, label), " ", h("b", null, value)));
    if (t.experiment) item("experiment", t.experiment);
    if (t.target) item("target", t.target);
    if (t.mode) item("mode", t.mode);
    if (num(t.ranks) != null) item("ranks", String(t.ranks));
    this.stageItem = h("span", { class: "mltrain-meta-item" });
    meta.push(this.stageItem);
    this.meta.replaceChildren(...meta);

    this._renderProgress();
    this._renderCancel();
    this.tick();
  }

  /** Redraw what depends on the clock: elapsed time, current stage, timeline. */
  tick() {
    const t = this.t;
    const list = stageList(t.stages);
    const final = this.isFinal();
    const start = num(t.created) > 0 ? t.created : list.length ? list[0][1] : null;
    const end = final ? num(t.ended) ?? (list.length ? list[list.length - 1][1] : null) : this.now();
    if (start != null && end != null) {
      this.elapsed.textContent = final ? `took ${fmtDuration(end - start)}` : `elapsed ${fmtDuration(end - start, true)}`;
      this.elapsed.title = final ? "run duration" : "time since the run was created";
    } else {
      this.elapsed.textContent = "";
    }

    // Stage segments: each lasts until the next stage began (the last one: until the end or now).
    const segs = [];
    for (let i = 0; i < list.length; i++) {
      const [name, s] = list[i];
      if (FINAL.has(name)) continue;
      const e = i + 1 < list.length ? list[i + 1][1] : end;
      segs.push([name, s, e == null ? s : Math.max(s, e)]);
    }
    const current = list.length ? list[list.length - 1] : null;
    if (current) {
      const inStage = !FINAL.has(current[0]) && end != null ? ` ${fmtDuration(end - current[1], true)}` : "";
      this.stageItem.replaceChildren(h("span", { class: "mltrain-meta-label" }, "stage"), " ", h("b", null, current[0]), inStage);
    } else {
      this.stageItem.replaceChildren();
    }
    this._renderTimeline(segs);
  }

  _renderTimeline(segs) {
    const names = new Set(segs.map((s) => s[0]));
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
      const cls = `mltrain-stage-${name.toLowerCase()}`;
      if (!x) {
        const dur = h("span", { class: "mltrain-timeline-dur" });
        x = {
          seg: h("div", { class: `mltrain-timeline-seg ${cls}` }),
          label: h("span", { class: "mltrain-timeline-label" }, h("span", { class: `mltrain-swatch ${cls}` }), name, " ", dur),
          dur,
        };
        this.segs.set(name, x);
      }
      // Keep DOM order = time order.
      if (this.bar.children[i] !== x.seg) this.bar.insertBefore(x.seg, this.bar.children[i] ?? null);
      if (this.labels.children[i] !== x.label) this.labels.insertBefore(x.label, this.labels.children[i] ?? null);
      const d = e - s;
      x.seg.style.flexGrow = String(total > 0 ? d / total : 1);
      const live = !final && i === segs.length - 1;
      x.seg.classList.toggle("mltrain-live", live);
      x.seg.title = `${name}: ${fmtDuration(d)}${live ? " (so far)" : ""}`;
      x.dur.textContent = fmtDuration(d);
    });
    this.bar.setAttribute("aria-label", segs.map(([n, s, e]) => `${n} ${fmtDuration(e - s)}`).join(", "));
    this.bar.hidden = segs.length === 0;
  }

  _renderProgress() {
    const p = obj(this.t.progress);
    const step = num(p.step);
    if (step == null) {
      this.progress.hidden = true;
      return;
    }
    this.progress.hidden = false;
    const total = num(p.total);
    const time = num(p.time);
    // it/s from the first progress this view saw (a later restart of steps resets it).
    if (!this.rate || step < this.rate.step) this.rate = time != null ? { step, time } : null;
    let rate = null;
    if (this.rate && time != null && time - this.rate.time >= 1 && step > this.rate.step) {
      rate = (step - this.rate.step) / (time - this.rate.time);
    }
    const parts = [];
    const indeterminate = !(total > 0);
    this.progress.classList.toggle("mltrain-progress-indeterminate", indeterminate && !this.isFinal());
    if (indeterminate) {
      this.progFill.style.width = "";
      this.progBar.removeAttribute("aria-valuenow");
      parts.push(`step ${step}`);
    } else {
      const pct = Math.min(100, Math.max(0, (step / total) * 100));
      this.progFill.style.width = `${pct}%`;
      this.progBar.setAttribute("aria-valuemax", total);
      this.progBar.setAttribute("aria-valuenow", step);
      parts.push(`step ${step} / ${total}`, `${pct < 10 ? pct.toFixed(1) : Math.floor(pct)}%`);
    }
    if (num(p.rank) != null) parts.push(`rank ${p.rank}`);
    if (rate != null && !this.isFinal()) {
      parts.push(`${fmtValue(Number(rate.toPrecision(3)))} steps/s`);
      if (!indeterminate && step < total) parts.push(`ETA ${fmtDuration((total - step) / rate)}`);
    }
    this.progText.textContent = parts.join(" · ");
  }

  _renderCancel() {
    const final = this.isFinal();
    const pending = !final && (this.t.cancel_pending === true || this.localCancel);
    if (final) this.confirming = false;
    this.confirm.hidden = !this.confirming || pending;
    this.cancelBtn.hidden = final || (this.confirming && !pending);
    this.cancelBtn.disabled = pending;
    this.cancelBtn.textContent = pending ? "Canceling…" : "Cancel";
  }
}
