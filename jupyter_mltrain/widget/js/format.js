// Small pure helpers: formatting and DOM construction.

/** Statuses after which a run never changes again. */
export const FINAL = new Set(["Completed", "Failed", "Canceled", "Lost"]);

/** The pre-final stages, in the order a run goes through them. */
export const STAGES = ["Queued", "Preparing", "Running", "Finalizing"];

const SIGNALS = {
  1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS",
  8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2",
  13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
};

/** "SIGKILL (9)" for a signal number. */
export function signalName(n) {
  return SIGNALS[n] ? `${SIGNALS[n]} (${n})` : `signal ${n}`;
}

/** "1h 02m", "3m 05s", "12s", "0.4s" for a duration in seconds (`whole`: no tenths, for a ticking clock). */
export function fmtDuration(s, whole = false) {
  if (s == null || !isFinite(s)) return "–";
  if (s < 0) s = 0;
  if (s < 10 && !whole) return `${s.toFixed(1)}s`;
  s = Math.floor(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m ${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}

/** Elapsed-clock style "1:02:03" / "2:03" for a duration in seconds. */
export function fmtClock(s) {
  if (s == null || !isFinite(s)) return "–";
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** "1.5 MiB" for a size in bytes. */
export function fmtBytes(n) {
  if (n == null || !isFinite(n)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)} ${units[i]}`;
}

/** A metric value, compact: integers as is, floats to 4 significant digits. */
export function fmtValue(v) {
  if (v == null) return "–";
  if (typeof v !== "number") return String(v);
  if (!isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

/** "12,345" with thousands separators. */
export function fmtCount(n) {
  return Number(n).toLocaleString("en-US");
}

const ESC_RE = /[&<>"']/g;
const ESC_MAP = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;" };

/** Text made safe for innerHTML. */
export function escapeHtml(s) {
  return String(s).replace(ESC_RE, (c) => ESC_MAP[c]);
}

/**
 * A DOM element: h("div", {class: "x", "data-testid": "y", onclick: f}, child, "text").
 * Attributes that are null/undefined/false are skipped.
 */
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : String(v));
    }
  }
  for (const c of children) {
    if (c == null || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

/** A plain object from a trait value that may be missing, null or of the wrong type. */
export function obj(v) {
  return v && typeof v === "object" && !Array.isArray(v) ? v : {};
}

/** A number from a trait value, or null. */
export function num(v) {
  return typeof v === "number" && isFinite(v) ? v : null;
}

/** Rank keys ("0", "1", …) sorted numerically; non-numeric keys last. */
export function sortRanks(keys) {
  return [...keys].sort((a, b) => {
    const x = Number(a), y = Number(b);
    if (isNaN(x) || isNaN(y)) return isNaN(x) - isNaN(y) || String(a).localeCompare(String(b));
    return x - y;
  });
}

const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
];

/** A distinct line colour for series number i. */
export function seriesColor(i) {
  return i < PALETTE.length ? PALETTE[i] : `hsl(${Math.round((i * 137.508) % 360)}, 60%, 50%)`;
}
