// The log pane: one rank (or all ranks merged), bounded, appended in batches,
// following the bottom until the user scrolls up.
import { ansiLine } from "./ansi.js";
import { MAX_LINES } from "./buffers.js";
import { escapeHtml, fmtCount, h, obj, sortRanks } from "./format.js";

const ALL = "all";

function weight(e) {
  return e.skip ? e.skip : 1;
}

function entryHtml(e, r, all) {
  const prefix = all ? `<span class="mltrain-line-rank">[${escapeHtml(r)}]</span> ` : "";
  if (e.skip) {
    return `<div class="mltrain-line mltrain-line-skip">${prefix}… ${fmtCount(e.skip)} lines skipped (printed faster than shown; the full log has them)</div>`;
  }
  if (e.h === undefined) e.h = ansiLine(e.t);
  return `<div class="mltrain-line">${prefix}${e.h}</div>`;
}

/** The last `max` entries of all ranks, in key order, as [entry, rank] pairs. */
function mergeTail(logs, max) {
  const ranks = sortRanks(logs.keys());
  const lists = ranks.map((r) => logs.get(r).entries);
  const pos = lists.map((l) => l.length - 1);
  const out = [];
  while (out.length < max) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      if (pos[i] < 0) continue;
      if (best < 0 || lists[i][pos[i]].k > lists[best][pos[best]].k) best = i;
    }
    if (best < 0) break;
    out.push([lists[best][pos[best]--], ranks[best]]);
  }
  return out.reverse();
}

export class LogView {
  constructor(buffers) {
    this.buffers = buffers;
    this.source = "0";
    this.weights = []; // weight of each line element in the pane, oldest first
    this.shownWeight = 0;
    this.stick = true;
    this.logPaths = {};
    this.filesUrl = "";

    this.select = h("select", {
      class: "mltrain-rank-select",
      "data-testid": "mltrain-rank-select",
      "aria-label": "Show the log of",
      onchange: () => this.setSource(this.select.value),
    });
    this.pathBox = h("span", { class: "mltrain-logpath" });
    this.count = h("span", { class: "mltrain-log-count" });
    const bar = h("div", { class: "mltrain-log-toolbar" }, this.select, this.count, this.pathBox);

    this.note = h("div", { class: "mltrain-log-note", hidden: true });
    this.body = h("div", { class: "mltrain-log-body" });
    this.partial = h("div", { class: "mltrain-log-partial", hidden: true });
    this.empty = h("div", { class: "mltrain-log-empty" }, "No output yet.");
    this.pane = h(
      "div",
      { class: "mltrain-log", "data-testid": "mltrain-log", tabindex: 0, role: "log" },
      this.note,
      this.body,
      this.partial,
      this.empty,
    );
    this.follow = h(
      "button",
      { class: "mltrain-log-follow", type: "button", hidden: true, title: "Scroll to the end and follow new lines" },
      "↓ Follow",
    );
    this.follow.addEventListener("click", () => {
      this.stick = true;
      this._scroll();
    });
    this.pane.addEventListener("scroll", () => {
      const p = this.pane;
      this.stick = p.scrollHeight - p.scrollTop - p.clientHeight < 8;
      this.follow.hidden = this.stick;
    });
    this.root = h(
      "div",
      { class: "mltrain-section mltrain-logs" },
      bar,
      h("div", { class: "mltrain-log-wrap" }, this.pane, this.follow),
    );
    this.nRanks = 0;
    this.refreshRanks();
  }

  /** The run's rank count (the `ranks` trait). */
  setRankCount(n) {
    this.nRanks = Math.max(0, Math.min(n, 4096));
    this.refreshRanks();
  }

  /** Offer ranks 0..n-1 plus any rank seen in the data, then "all ranks". */
  refreshRanks() {
    const seen = new Set();
    for (let r = 0; r < this.nRanks; r++) seen.add(String(r));
    for (const r of this.buffers.logs.keys()) seen.add(r);
    if (seen.size === 0) seen.add("0");
    const ranks = sortRanks(seen);
    const want = [...ranks, ALL].join(",");
    if (this._options === want) return;
    this._options = want;
    this.select.replaceChildren(
      ...ranks.map((r) => h("option", { value: r }, `rank ${r}`)),
      h("option", { value: ALL }, "all ranks"),
    );
    this.select.value = this.source;
    if (this.select.value !== this.source) {
      this.select.value = "0";
      this.source = "0";
    }
  }

  setSource(src) {
    this.source = String(src);
    this.select.value = this.source;
    this.stick = true;
    this._renderPath();
    this.rebuild();
  }

  /** `log_paths` (rank -> path) and `files_url` (may be empty). */
  setPaths(paths, filesUrl) {
    this.logPaths = obj(paths);
    this.filesUrl = typeof filesUrl === "string" ? filesUrl.replace(/\/+$/, "") : "";
    this._renderPath();
  }

  _url(r) {
    return `${this.filesUrl}/logs/rank-${encodeURIComponent(r)}.log`;
  }

  _renderPath() {
    const box = this.pathBox;
    box.replaceChildren();
    if (this.source === ALL) {
      const ranks = sortRanks(Object.keys(this.logPaths));
      if (ranks.length === 0) return;
      if (this.filesUrl) {
        box.append("full logs: ");
        ranks.forEach((r, i) => {
          if (i) box.append(" ");
          box.append(h("a", { href: this._url(r), target: "_blank", rel: "noopener", download: `rank-${r}.log` }, `rank ${r}`));
        });
        return;
      }
      const dirs = new Set(ranks.map((r) => String(this.logPaths[r]).replace(/\/[^/]*$/, "")));
      if (dirs.size === 1) this._pathWithCopy("full logs in: ", [...dirs][0]);
      return;
    }
    const path = this.logPaths[this.source];
    if (!path) return;
    this._pathWithCopy("full log: ", String(path));
    if (this.filesUrl) {
      box.append(
        " ",
        h("a", { href: this._url(this.source), target: "_blank", rel: "noopener", download: `rank-${this.source}.log`, class: "mltrain-link" }, "download"),
      );
    }
  }

  _pathWithCopy(label, path) {
    const code = h("code", { class: "mltrain-path", title: path }, path);
    const copy = h("button", { type: "button", class: "mltrain-linkbutton", title: "Copy the path" }, "copy");
    copy.addEventListener("click", async () => {
      let ok = false;
      try {
        if (navigator.clipboard) {
          await navigator.clipboard.writeText(path);
          ok = true;
        }
      } catch (_) {
        ok = false;
      }
      if (!ok) {
        // Not a secure context: select the text so Ctrl/Cmd-C copies it.
        const range = document.createRange();
        range.selectNodeContents(code);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
      }
      copy.textContent = ok ? "copied" : "selected";
      setTimeout(() => (copy.textContent = "copy"), 1500);
    });
    this.pathBox.append(label, code, " ", copy);
  }

  _total() {
    if (this.source !== ALL) return this.buffers.logs.get(this.source)?.total ?? 0;
    let t = 0;
    for (const rl of this.buffers.logs.values()) t += rl.total;
    return t;
  }

  /** Redraw the pane from the buffers (rank switch, new history). */
  rebuild() {
    const all = this.source === ALL;
    let pairs;
    if (all) pairs = mergeTail(this.buffers.logs, MAX_LINES);
    else pairs = (this.buffers.logs.get(this.source)?.entries ?? []).map((e) => [e, this.source]);
    const parts = new Array(pairs.length);
    this.weights = new Array(pairs.length);
    this.shownWeight = 0;
    for (let i = 0; i < pairs.length; i++) {
      const [e, r] = pairs[i];
      parts[i] = entryHtml(e, r, all);
      this.weights[i] = weight(e);
      this.shownWeight += this.weights[i];
    }
    this.body.innerHTML = parts.join("");
    this._renderPartial();
    this._finish();
  }

  /**
   * Add what a batch of deltas brought: `lines` (rank -> new entries) and
   * `partials` (ranks whose partial line changed).
   */
  append(lines, partials) {
    const all = this.source === ALL;
    let pairs;
    if (all) {
      pairs = [];
      for (const [r, es] of lines) for (const e of es) pairs.push([e, r]);
      pairs.sort((a, b) => a[0].k - b[0].k);
    } else {
      pairs = (lines.get(this.source) ?? []).map((e) => [e, this.source]);
    }
    const partialChanged = all ? partials.size > 0 : partials.has(this.source);
    if (pairs.length === 0 && !partialChanged) return;
    if (pairs.length >= MAX_LINES) {
      this.rebuild();
      return;
    }
    if (pairs.length > 0) {
      let html = "";
      for (const [e, r] of pairs) {
        html += entryHtml(e, r, all);
        const w = weight(e);
        this.weights.push(w);
        this.shownWeight += w;
      }
      this.body.insertAdjacentHTML("beforeend", html);
      const excess = this.weights.length - MAX_LINES;
      if (excess > 0) {
        const range = document.createRange();
        range.setStartBefore(this.body.firstChild);
        range.setEndAfter(this.body.children[excess - 1]);
        range.deleteContents();
        for (const w of this.weights.splice(0, excess)) this.shownWeight -= w;
      }
    }
    if (partialChanged) this._renderPartial();
    this._finish();
  }

  _renderPartial() {
    let html = "";
    if (this.source === ALL) {
      for (const r of sortRanks(this.buffers.logs.keys())) {
        const p = this.buffers.logs.get(r).partial;
        if (p) html += `<div class="mltrain-line"><span class="mltrain-line-rank">[${escapeHtml(r)}]</span> ${ansiLine(p)}</div>`;
      }
    } else {
      const p = this.buffers.logs.get(this.source)?.partial;
      if (p) html = `<div class="mltrain-line">${ansiLine(p)}</div>`;
    }
    this.partial.innerHTML = html;
    this.partial.hidden = html === "";
  }

  _finish() {
    const hidden = Math.max(0, this._total() - this.shownWeight);
    this.note.hidden = hidden === 0;
    if (hidden) this.note.textContent = `… ${fmtCount(hidden)} earlier lines not shown`;
    const lines = this.weights.length;
    this.empty.hidden = lines > 0 || !this.partial.hidden;
    this.count.textContent = lines ? `${fmtCount(this._total())} lines` : "";
    this._scroll();
  }

  _scroll() {
    if (this.stick) this.pane.scrollTop = this.pane.scrollHeight;
    this.follow.hidden = this.stick;
  }
}
