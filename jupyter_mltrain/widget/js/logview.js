// The log pane: one rank (or all ranks merged), bounded, appended in batches,
// following the bottom until the user scrolls up.
import { ansiLine } from "./ansi.js";
import { MAX_LINES } from "./buffers.js";
import { escapeHtml, fmtCount, h, obj, sortRanks } from "./format.js";

const ALL = "all";
const NAV_KEYS = new Set(["ArrowUp", "ArrowDown", "PageUp", "PageDown", "Home", "End", " "]);
const UP_KEYS = new Set(["ArrowUp", "PageUp", "Home"]);
/** Lines per chunk element of the pane. */
const CHUNK = 200;

/** The estimated height of a chunk of n lines until the browser has laid it out once. */
function chunkSize(n) {
  return `auto ${(n * 1.35).toFixed(2)}em`;
}

function weight(e) {
  return e.skip ? e.skip : 1;
}

function entryHtml(e, r, all) {
  const prefix = all ? `<span class="mltrain-line-rank">[${escapeHtml(r)}]</span> ` : "";
  if (e.skip) {
    return `<div class="mltrain-line-skip">${prefix}… ${fmtCount(e.skip)} lines skipped (printed faster than shown; the full log has them)</div>`;
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
    this.chunks = []; // line count of each chunk element in the pane
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
    const bar = h("div", { class: "mltrain-log-toolbar" }, h("span", { class: "mltrain-section-title" }, "Logs"), this.select, this.count, this.pathBox);

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
    // Follow the end until the user scrolls up; follow again once they are back at the end.
    this.userAt = -1e9;
    const intent = () => (this.userAt = performance.now());
    const unstick = () => {
      if (this.pane.scrollHeight <= this.pane.clientHeight) return; // nothing to scroll
      this.stick = false;
      this.follow.hidden = false;
    };
    this.pane.addEventListener("wheel", (e) => {
      intent();
      if (e.deltaY < 0) unstick();
    }, { passive: true });
    this.pane.addEventListener("touchmove", intent, { passive: true });
    this.pane.addEventListener("pointerdown", (e) => e.target === this.pane && intent()); // the scrollbar
    this.pane.addEventListener("keydown", (e) => {
      if (NAV_KEYS.has(e.key)) intent();
      if (UP_KEYS.has(e.key)) unstick();
    });
    this.pane.addEventListener("scroll", () => {
      const p = this.pane;
      const now = performance.now();
      const user = now - this.userAt < 1000;
      if (user) this.userAt = now; // a drag of the scrollbar goes on
      if (p.scrollHeight - p.scrollTop - p.clientHeight < 8) this.stick = true;
      else if (user) this.stick = false;
      this.follow.hidden = this.stick;
    });
    // Chunks laid out for the first time may change height after a scroll: stay at the end.
    this.resizer = new ResizeObserver(() => {
      if (this.stick) this.pane.scrollTop = this.pane.scrollHeight;
    });
    this.resizer.observe(this.body);
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

  /** `log_paths` (rank -> path) and `files_url` (may be empty; relative = under the Jupyter server's base URL). */
  setPaths(paths, filesUrl) {
    this.logPaths = obj(paths);
    this.filesUrl = resolveServerUrl(typeof filesUrl === "string" ? filesUrl.replace(/\/+$/, "") : "");
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
        h("a", { href: this._url(this.source), target: "_blank", rel: "noopener", download: `rank-${this.source}.log`, class: "mltrain-link" }, "download"),
      );
    }
  }

  _pathWithCopy(label, path) {
    // Long paths are cut at the start (the file name matters most); the bdi keeps the path's own order.
    const code = h("code", { class: "mltrain-path mltrain-path-tail", title: path }, h("bdi", { dir: "ltr" }, path));
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
    this.pathBox.append(h("span", { class: "mltrain-logpath-label" }, label), code, copy);
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
    this.weights = [];
    this.shownWeight = 0;
    this.chunks = [];
    this.body.innerHTML = this._chunksHtml(this._lines(pairs, all));
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
      const html = this._lines(pairs, all);
      let i = 0;
      const last = this.chunks.length - 1;
      if (last >= 0 && this.chunks[last] < CHUNK) {
        // Top up the last chunk first.
        i = Math.min(CHUNK - this.chunks[last], html.length);
        const chunk = this.body.lastElementChild;
        chunk.insertAdjacentHTML("beforeend", html.slice(0, i).join(""));
        this.chunks[last] += i;
        chunk.style.containIntrinsicSize = chunkSize(this.chunks[last]);
      }
      if (i < html.length) this.body.insertAdjacentHTML("beforeend", this._chunksHtml(i ? html.slice(i) : html));
      // Drop whole chunks from the top while over the limit (chunks make this one cheap removal each).
      let over = this.weights.length - MAX_LINES;
      let dropped = 0;
      let height = 0;
      while (over > 0 && this.chunks.length > 1) {
        const n = this.chunks.shift();
        const chunk = this.body.firstElementChild;
        if (!this.stick) height += chunk.offsetHeight;
        chunk.remove();
        over -= n;
        dropped += n;
      }
      for (const w of this.weights.splice(0, dropped)) this.shownWeight -= w;
      // Scrolled up: keep the same lines in view as the oldest ones go.
      if (height) this.pane.scrollTop -= height;
    }
    if (partialChanged) this._renderPartial();
    this._finish();
  }

  /** Each entry's HTML; records its weight as shown. */
  _lines(pairs, all) {
    const out = new Array(pairs.length);
    for (let i = 0; i < pairs.length; i++) {
      const [e, r] = pairs[i];
      out[i] = entryHtml(e, r, all);
      const w = weight(e);
      this.weights.push(w);
      this.shownWeight += w;
    }
    return out;
  }

  /**
   * Lines grouped in chunks of CHUNK: the browser skips layout and paint of
   * chunks out of view (content-visibility), so a new batch costs only itself.
   */
  _chunksHtml(lines) {
    let html = "";
    for (let i = 0; i < lines.length; i += CHUNK) {
      const part = lines.slice(i, i + CHUNK);
      html += `<div class="mltrain-chunk" style="contain-intrinsic-size:${chunkSize(part.length)}">${part.join("")}</div>`;
      this.chunks.push(part.length);
    }
    return html;
  }

  _renderPartial() {
    let html = "";
    if (this.source === ALL) {
      for (const r of sortRanks(this.buffers.logs.keys())) {
        const p = this.buffers.logs.get(r).partial;
        if (p) html += `<div class="mltrain-line-partial"><span class="mltrain-line-rank">[${escapeHtml(r)}]</span> ${ansiLine(p)}</div>`;
      }
    } else {
      const p = this.buffers.logs.get(this.source)?.partial;
      if (p) html = `<div class="mltrain-line-partial">${ansiLine(p)}</div>`;
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

  destroy() {
    this.resizer.disconnect();
  }

  _scroll() {
    if (this.stick) this.pane.scrollTop = this.pane.scrollHeight;
    this.follow.hidden = this.stick;
  }
}

/**
 * A server-relative URL ("mltrain/api/...") made absolute with the Jupyter server's base URL from the
 * page config; "" where there is no Jupyter server (a saved notebook rendered elsewhere).
 */
function resolveServerUrl(url) {
  if (!url || /^([a-z]+:)?\//i.test(url)) return url;
  const node = document.getElementById("jupyter-config-data");
  if (!node) return "";
  try {
    const base = JSON.parse(node.textContent || "{}").baseUrl || "/";
    return base.replace(/\/*$/, "/") + url;
  } catch {
    return "";
  }
}
