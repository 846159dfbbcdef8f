// Metric charts (one uPlot per metric, one series per rank or an aggregate)
// and the table of last values.
import uPlot from "uplot";
import { fmtDuration, fmtValue, h, obj, seriesColor, sortRanks } from "./format.js";

const HEIGHT = 150;

/** Series of all ranks on one shared x axis (uPlot's aligned data); null where a rank has no point. */
export function alignRanks(byRank, ranks) {
  const ss = ranks.map((r) => byRank.get(r));
  const first = ss[0];
  let same = true;
  for (let j = 1; j < ss.length && same; j++) {
    const x = ss[j].x;
    if (x.length !== first.x.length) same = false;
    else for (let i = 0; i < x.length; i++) if (x[i] !== first.x[i]) { same = false; break; }
  }
  // Sorted by x (uPlot needs ascending x); already so when every rank logs at the same steps in order.
  let xs;
  let ys;
  if (same) {
    xs = first.x;
    ys = ss.map((s) => s.y);
    let sorted = true;
    for (let i = 1; i < xs.length; i++) if (xs[i] < xs[i - 1]) { sorted = false; break; }
    if (sorted) return [xs.slice(), ys];
  }
  const set = new Set();
  for (const s of ss) for (const x of s.x) set.add(x);
  xs = Float64Array.from(set).sort();
  const index = new Map();
  xs.forEach((x, i) => index.set(x, i));
  ys = ss.map((s) => {
    const y = new Array(xs.length).fill(null);
    for (let i = 0; i < s.x.length; i++) y[index.get(s.x[i])] = s.y[i];
    return y;
  });
  return [Array.from(xs), ys];
}

/** Mean, min and max across ranks at each x (ignoring missing values). */
export function aggregate(ys, n) {
  const mean = new Array(n), min = new Array(n), max = new Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0, c = 0, lo = Infinity, hi = -Infinity;
    for (const y of ys) {
      const v = y[i];
      if (v == null) continue;
      s += v;
      c++;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    mean[i] = c ? s / c : null;
    min[i] = c ? lo : null;
    max[i] = c ? hi : null;
  }
  return { mean, min, max };
}

/** A time-axis tick: seconds with as many decimals as the tick spacing needs, else "1m 05s". */
function fmtTimeTick(v, incr) {
  if (v < 60 || incr < 1) {
    const dec = incr >= 1 || !(incr > 0) ? 0 : Math.min(3, Math.ceil(-Math.log10(incr)));
    return `${v.toFixed(dec)}s`;
  }
  return fmtDuration(v);
}

function cssVar(el, name, fallback) {
  const v = getComputedStyle(el).getPropertyValue(name).trim();
  return v || fallback;
}

function hasNumber(byRank) {
  for (const s of byRank.values()) for (const y of s.y) if (y != null) return true;
  return false;
}

export class Charts {
  /** `getCreated()` gives the run's `created` (epoch s) for time axes. */
  constructor(buffers, getCreated) {
    this.buffers = buffers;
    this.getCreated = getCreated;
    this.charts = new Map(); // metric -> {cell, plot, u, sig}
    this.mode = "rank";
    this.modeChosen = false;
    this.ranks = 0;

    this.modeSelect = h(
      "select",
      { class: "mltrain-agg-select", "data-testid": "mltrain-agg-select", "aria-label": "Series shown" },
      h("option", { value: "rank" }, "per rank"),
      h("option", { value: "mean" }, "mean"),
      h("option", { value: "minmax" }, "min–max"),
    );
    this.modeSelect.addEventListener("change", () => {
      this.mode = this.modeSelect.value;
      this.modeChosen = true;
      this.update(null);
    });
    this.grid = h("div", { class: "mltrain-chart-grid" });
    this.empty = h("div", { class: "mltrain-placeholder" }, "No metrics logged yet.");
    this.table = h("table", { class: "mltrain-metrics-table", "data-testid": "mltrain-metrics-table", hidden: true });
    this.root = h(
      "div",
      { class: "mltrain-section mltrain-metrics" },
      h("div", { class: "mltrain-section-head" }, h("span", { class: "mltrain-section-title" }, "Metrics"), this.modeSelect),
      this.empty,
      this.grid,
      h("div", { class: "mltrain-table-wrap" }, this.table),
    );

    this._resizeQueued = false;
    this.resizer = new ResizeObserver(() => {
      if (this._resizeQueued) return;
      this._resizeQueued = true;
      requestAnimationFrame(() => {
        this._resizeQueued = false;
        this._resize();
      });
    });
    this.resizer.observe(this.grid);
    // Canvas colours are read from the theme: redraw when JupyterLab switches theme.
    this.themeObserver = new MutationObserver(() => this._recreate());
    this.themeObserver.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-name", "data-jp-theme-light"] });
  }

  /** The run's rank count: with many ranks, charts default to the mean. */
  setRanks(n) {
    this.ranks = n;
    if (!this.modeChosen) {
      const m = n > 8 ? "mean" : "rank";
      if (m !== this.mode) {
        this.mode = m;
        this.modeSelect.value = m;
        this.update(null);
      }
    }
  }

  /** Redraw the charts of `metrics` (all when null). */
  update(metrics) {
    const series = this.buffers.series;
    const names = metrics ? [...metrics] : [...series.keys()];
    if (!metrics) {
      for (const name of [...this.charts.keys()]) if (!series.has(name)) this._remove(name);
    }
    for (const name of names) {
      const byRank = series.get(name);
      if (!byRank || byRank.size === 0) continue;
      const c = this.charts.get(name);
      if (!c && !hasNumber(byRank)) continue; // e.g. a metric of strings: the table shows it
      this._draw(name, byRank);
    }
    this.empty.hidden = this.charts.size > 0 || !this.table.hidden;
  }

  _data(name, byRank) {
    const ranks = sortRanks(byRank.keys());
    const [xs0, ys] = alignRanks(byRank, ranks);
    const time = this.buffers.xKind[name] === "time";
    const created = this.getCreated();
    let xs = xs0;
    if (time && created != null) xs = xs0.map((x) => (x > 1e8 ? x - created : x));
    const mode = ranks.length > 1 ? this.mode : "rank";
    let data, labels;
    if (mode === "rank") {
      data = [xs, ...ys];
      labels = ranks.map((r) => `rank ${r}`);
    } else {
      const a = aggregate(ys, xs.length);
      if (mode === "mean") {
        data = [xs, a.mean];
        labels = ["mean"];
      } else {
        data = [xs, a.min, a.max, a.mean];
        labels = ["min", "max", "mean"];
      }
    }
    return { data, labels, mode, time };
  }

  _draw(name, byRank) {
    let c = this.charts.get(name);
    if (!c) {
      const plot = h("div", { class: "mltrain-chart-plot" });
      const cell = h(
        "div",
        { class: "mltrain-chart", "data-testid": "mltrain-chart", "data-metric": name },
        h("div", { class: "mltrain-chart-title", title: name }, name),
        plot,
      );
      // Keep charts in first-seen order.
      this.grid.append(cell);
      c = { cell, plot, u: null, sig: "" };
      this.charts.set(name, c);
    }
    const d = this._data(name, byRank);
    let points = 0;
    for (const s of byRank.values()) points += s.x.length;
    c.cell.dataset.points = String(points); // points held for this metric, all ranks (tests read it)
    const sig = `${d.mode}|${d.time}|${d.labels.join(",")}`;
    if (c.u && c.sig === sig) {
      c.u.setData(d.data);
      return;
    }
    if (c.u) c.u.destroy();
    c.sig = sig;
    c.u = new uPlot(this._opts(c, d), d.data, c.plot);
  }

  _opts(c, d) {
    const root = this.root;
    const fg = cssVar(root, "--jp-ui-font-color2", "rgba(0,0,0,0.54)");
    const grid = cssVar(root, "--jp-border-color2", "rgba(0,0,0,0.1)");
    const family = cssVar(root, "--jp-ui-font-family", "system-ui, sans-serif");
    const font = `10px ${family}`;
    const axis = { stroke: fg, font, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1, size: 4 } };
    const fmtX = d.time ? (v) => fmtDuration(v) : (v) => fmtValue(v);
    const series = [{ label: d.time ? "time" : "step", value: (u, v) => (v == null ? "–" : fmtX(v)) }];
    const value = (u, v) => (v == null ? "–" : fmtValue(v));
    if (d.mode === "minmax") {
      const col = seriesColor(0);
      series.push(
        { label: "min", stroke: col, width: 1, alpha: 0.5, value, spanGaps: true, points: { show: false } },
        { label: "max", stroke: col, width: 1, alpha: 0.5, value, spanGaps: true, points: { show: false } },
        { label: "mean", stroke: col, width: 1.5, value, spanGaps: true, points: { show: false } },
      );
    } else {
      d.labels.forEach((label, i) =>
        series.push({ label, stroke: d.mode === "mean" ? seriesColor(0) : seriesColor(i), width: 1.5, value, spanGaps: true, points: { show: false } }),
      );
    }
    return {
      width: this._width(c),
      height: HEIGHT,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false }, points: { size: 5 } },
      scales: { x: { time: false } },
      bands: d.mode === "minmax" ? [{ series: [2, 1], fill: "rgba(31,119,180,0.15)" }] : undefined,
      axes: [
        { ...axis, size: 30, values: (u, vals, ax, space, incr) => vals.map((v) => (v == null ? "" : d.time ? fmtTimeTick(v, incr) : fmtValue(v))) },
        { ...axis, size: 50, values: (u, vals) => vals.map((v) => (v == null ? "" : fmtValue(v))) },
      ],
      series,
    };
  }

  _width(c) {
    return Math.max(160, Math.floor(c.plot.clientWidth || c.cell.clientWidth || 320));
  }

  _resize() {
    for (const c of this.charts.values()) {
      if (!c.u || c.cell.clientWidth === 0) continue;
      const w = this._width(c);
      if (Math.abs(w - c.u.width) > 1) c.u.setSize({ width: w, height: HEIGHT });
    }
  }

  _recreate() {
    for (const c of this.charts.values()) {
      if (c.u) c.u.destroy();
      c.u = null;
      c.sig = "";
    }
    this.update(null);
  }

  _remove(name) {
    const c = this.charts.get(name);
    if (c.u) c.u.destroy();
    c.cell.remove();
    this.charts.delete(name);
  }

  /** Redraw the table of last values: one column per rank up to 8 ranks, else the mean. */
  setLastMetrics(last, nRanks) {
    const m = obj(last);
    const names = Object.keys(m);
    this.table.hidden = names.length === 0;
    this.empty.hidden = this.charts.size > 0 || names.length > 0;
    if (names.length === 0) {
      this.table.replaceChildren();
      return;
    }
    const seen = new Set();
    for (const n of names) for (const r of Object.keys(obj(m[n]))) seen.add(r);
    for (let r = 0; r < nRanks; r++) seen.add(String(r));
    const ranks = sortRanks(seen);
    const perRank = ranks.length <= 8;
    const head = h("tr", null, h("th", null, "metric"), ...(perRank ? ranks.map((r) => h("th", null, `rank ${r}`)) : [h("th", null, `mean of ${ranks.length} ranks`)]));
    const rows = names.map((n) => {
      const vals = obj(m[n]);
      let cells;
      if (perRank) {
        cells = ranks.map((r) => h("td", null, fmtValue(vals[r])));
      } else {
        const nums = Object.values(vals).filter((v) => typeof v === "number" && isFinite(v));
        const any = Object.values(vals)[0];
        const v = nums.length ? nums.reduce((a, b) => a + b, 0) / nums.length : any;
        cells = [h("td", null, fmtValue(v))];
      }
      return h("tr", null, h("th", { scope: "row", title: n }, n), ...cells);
    });
    this.table.replaceChildren(h("thead", null, head), h("tbody", null, ...rows));
  }

  destroy() {
    this.resizer.disconnect();
    this.themeObserver.disconnect();
    for (const c of this.charts.values()) if (c.u) c.u.destroy();
    this.charts.clear();
  }
}
