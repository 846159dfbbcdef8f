// Plays scripted runs against the built widget with a fake model and a fake
// kernel that follows the Python side's contract (traits + delta messages).
// Results (PASS/FAIL lines, timings) go to #results and window.__harness.
// drive.mjs runs it in headless Chromium and takes screenshots at shoot() points.
import widget from "../../jupyter_mltrain/widget/static/widget.js";

const params = new URLSearchParams(location.search);
const MODE = params.get("mode") || "live";
if (params.get("theme") === "dark") document.body.dataset.jpThemeLight = "false";
else document.body.dataset.jpThemeLight = "true";

const H = (window.__harness = { phase: "start", done: false, results: [], errors: [], perf: {}, sent: [] });
window.addEventListener("error", (e) => H.errors.push(String(e.message || e)));
window.addEventListener("unhandledrejection", (e) => H.errors.push(`unhandled rejection: ${e.reason}`));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
const $ = (sel) => document.querySelector(sel);
const $$ = (sel) => [...document.querySelectorAll(sel)];

function phase(name) {
  H.phase = name;
  $("#phase").textContent = name;
}

function check(name, ok, detail = "") {
  H.results.push({ name, ok: !!ok, detail: String(detail) });
  $("#results").textContent = H.results.map((r) => `${r.ok ? "PASS" : "FAIL"} ${r.name}${r.detail ? `: ${r.detail}` : ""}`).join("\n");
}

/** Ask the driver (if any) for a screenshot, and wait until it is taken. */
function shoot(name) {
  if (typeof window.__cdpShoot !== "function") return Promise.resolve();
  return new Promise((resolve) => {
    window.__shotDone = resolve;
    window.__cdpShoot(name);
  });
}

// ---------------------------------------------------------------- fake model
class FakeModel {
  constructor(traits, { kernel = true } = {}) {
    this.traits = { ...traits };
    this.handlers = new Map();
    this.kernel = null;
    this.connected = kernel;
  }
  get(name) {
    return this.traits[name];
  }
  set(name, value) {
    const old = this.traits[name];
    this.traits[name] = value;
    if (JSON.stringify(old) !== JSON.stringify(value)) this._emit(`change:${name}`, value);
  }
  save_changes() {}
  on(event, cb) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(cb);
  }
  off(event, cb) {
    if (!event) this.handlers.clear();
    else if (!cb) this.handlers.delete(event);
    else this.handlers.get(event)?.delete(cb);
  }
  send(msg) {
    if (!this.connected) throw new Error("no kernel");
    H.sent.push(msg);
    setTimeout(() => this.kernel?.onMessage(msg), 10);
  }
  /** Kernel -> widget custom message; returns the handler time in ms. */
  custom(msg) {
    const t0 = performance.now();
    this._emit("msg:custom", msg);
    return performance.now() - t0;
  }
  _emit(event, arg) {
    for (const cb of this.handlers.get(event) ?? []) cb(arg, []);
  }
  listeners() {
    let n = 0;
    for (const s of this.handlers.values()) n += s.size;
    return n;
  }
}

// --------------------------------------------------------------- fake kernel
const KEEP = 5000;

class FakeKernel {
  constructor(model) {
    this.model = model;
    model.kernel = this;
    this.seq = 0;
    this.logs = {};
    this.partial = {};
    this.series = {};
    this.x_kind = {};
    this.skipped = {};
    this.dropNext = false;
    this.handlerMs = [];
    this.skew = 0; // the kernel's clock minus the browser's, seconds
    this.lastMsg = null;
  }
  snapshot() {
    return JSON.parse(JSON.stringify({ seq: this.seq, logs: this.logs, partial: this.partial, series: this.series, x_kind: this.x_kind, skipped: this.skipped }));
  }
  onMessage(msg) {
    if (msg.type === "sync") this.model.set("history", this.snapshot());
    if (msg.type === "cancel") this.onCancel?.();
  }
  traits(t) {
    for (const [k, v] of Object.entries(t)) this.model.set(k, v);
    this.model.set("clock", Date.now() / 1000 + this.skew);
  }
  /** One delta: logs {r: [lines]}, partial {r: str}, points {m: {r: [[x],[y]]}}, skipped {r: n}. */
  delta({ logs = {}, partial = {}, points = {}, x_kind = {}, skipped = {} }) {
    this.seq++;
    for (const [r, ls] of Object.entries(logs)) {
      const buf = (this.logs[r] ??= []);
      buf.push(...ls);
      if (buf.length > KEEP) buf.splice(0, buf.length - KEEP);
      if (!(r in partial)) delete this.partial[r];
    }
    for (const [r, p] of Object.entries(partial)) this.partial[r] = p;
    for (const [r, n] of Object.entries(skipped)) this.skipped[r] = (this.skipped[r] ?? 0) + n;
    for (const [m, byRank] of Object.entries(points)) {
      for (const [r, [xs, ys]] of Object.entries(byRank)) {
        const s = ((this.series[m] ??= {})[r] ??= [[], []]);
        s[0].push(...xs);
        s[1].push(...ys);
      }
    }
    Object.assign(this.x_kind, x_kind);
    const msg = { type: "delta", seq: this.seq, logs, partial, points, x_kind, skipped };
    if (this.dropNext) {
      this.dropNext = false; // simulate a lost message: the widget must notice the gap
      return;
    }
    this.lastMsg = msg;
    this.handlerMs.push(this.model.custom(msg));
  }
}

// ----------------------------------------------------------------- content
const E = "\x1b[";
const color = (c, s) => `${E}${c}m${s}${E}0m`;

function trainLine(r, step, loss) {
  const lvl = step % 37 === 0 ? color("33", "WARN") : color("32", "INFO");
  return `${lvl} [rank ${r}] epoch 1 step ${String(step).padStart(4)} loss=${color("1", loss.toFixed(4))} lr=3.0e-04 ${step % 53 === 0 ? color("36;1", "checkpoint saved") : ""}`.trimEnd();
}

function tqdm(step, total) {
  if (!total) return `train: ${step}it [00:${String(Math.floor(step / 12)).padStart(2, "0")}, 12.1it/s]`;
  const pct = Math.floor((step / total) * 100);
  const filled = Math.floor(pct / 10);
  return `train: ${String(pct).padStart(3)}%|${"█".repeat(filled)}${" ".repeat(10 - filled)}| ${step}/${total} [00:${String(Math.floor(step / 12)).padStart(2, "0")}<00:30, 12.1it/s]`;
}

const TRACEBACK = `Traceback (most recent call last):
  File "/tmp/mltrain/run-7f3a/cell.py", line 42, in <module>
    trainer.fit(model, loader)
  File "/tmp/mltrain/run-7f3a/cell.py", line 31, in fit
    out = model(batch.to(device))
  File "/usr/lib/python3/site-packages/torch/nn/modules/module.py", line 1532, in _call_impl
    return forward_call(*args, **kwargs)
${color("31;1", "torch.OutOfMemoryError")}: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 1; 79.15 GiB total capacity)`;

function baseTraits(ranks) {
  const now = Date.now() / 1000;
  return {
    run_id: "r-20250101-7f3a",
    run_name: "resnet50-finetune",
    experiment: "imagenet-subset",
    target: "local",
    mode: "torch",
    ranks,
    status: "Queued",
    stages: { Queued: now },
    created: now,
    ended: null,
    clock: now,
    progress: {},
    last_metrics: {},
    root_cause: null,
    outputs: [],
    log_paths: Object.fromEntries(Array.from({ length: ranks }, (_, r) => [String(r), `/tmp/pytest-of-root/pytest-31/test_train_cell_in_jupyterlab_0/mltrain-home/runs/r-20250101-7f3a/logs/rank-${r}.log`])),
    files_url: "",
    cancel_pending: false,
    history: { seq: 0, logs: {}, partial: {}, series: {}, x_kind: {}, skipped: {} },
  };
}

function mount(model) {
  const slot = $("#slot");
  const el = document.createElement("div");
  slot.append(el);
  const cleanup = widget.render({ model, el });
  return { el, cleanup };
}

// ------------------------------------------------------------- live scenario
async function training(k, ranks, { steps, from, total, last, burst = false }) {
  // One delta: `steps` steps on every rank, logs + metrics + partial tqdm line.
  const logs = {}, partial = {}, points = { loss: {}, accuracy: {}, gpu_mem_gb: {} }, skipped = {};
  const now = Date.now() / 1000 + k.skew;
  for (let r = 0; r < ranks; r++) {
    const R = String(r);
    const lines = [];
    const xs = [], loss = [], acc = [];
    for (let s = from; s < from + steps; s++) {
      const l = 2.2 * Math.exp(-s / 150) + 0.1 + 0.04 * Math.sin(s / 3 + r) + 0.02 * r;
      if (!burst) lines.push(trainLine(r, s, l));
      xs.push(s);
      loss.push(l);
      acc.push(Math.min(0.99, 0.3 + 0.6 * (1 - Math.exp(-s / 200)) + 0.01 * Math.cos(s + r)));
    }
    if (burst) {
      for (let i = 0; i < 1000; i++) lines.push(`${color("2", `[${from}:${i}]`)} spam line from rank ${r}: ${"x".repeat(i % 60)} <b>not bold</b>`);
      skipped[R] = 24000;
    }
    logs[R] = lines;
    partial[R] = tqdm(total ? Math.min(from + steps, total) : from + steps, total);
    points.loss[R] = [xs, loss];
    points.accuracy[R] = [xs, acc];
    points.gpu_mem_gb[R] = [[now], [10.5 + r * 0.7 + Math.sin(now) * 0.3]];
    last.loss = { ...(last.loss ?? {}), [R]: loss[loss.length - 1] };
    last.accuracy = { ...(last.accuracy ?? {}), [R]: acc[acc.length - 1] };
    last.gpu_mem_gb = { ...(last.gpu_mem_gb ?? {}), [R]: points.gpu_mem_gb[R][1][0] };
    last.phase = { ...(last.phase ?? {}), [R]: "train" };
  }
  k.delta({ logs, partial, points, skipped, x_kind: from === 0 ? { loss: "step", accuracy: "step", gpu_mem_gb: "time" } : {} });
  k.traits({ progress: { step: from + steps, total, rank: 0, time: now }, last_metrics: { ...last } });
}

function watchFrames() {
  // The longest gap between animation frames while a burst plays: the page's responsiveness.
  const st = { maxGap: 0, frames: 0, on: true };
  let prev = performance.now();
  const loop = () => {
    if (!st.on) return;
    const t = performance.now();
    st.maxGap = Math.max(st.maxGap, t - prev);
    st.frames++;
    prev = t;
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
  return st;
}

function longTasks() {
  const st = { count: 0, max: 0 };
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        st.count++;
        st.max = Math.max(st.max, e.duration);
      }
    }).observe({ type: "longtask" });
  } catch (_) {
    st.count = -1;
  }
  return st;
}

/** Play n burst deltas and return the timings. */
async function burst(k, ranks, n, state) {
  const frames = watchFrames();
  const lt = longTasks();
  k.handlerMs = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await training(k, ranks, { steps: 2, from: state.step, total: state.total, last: state.last, burst: true });
    state.step += 2;
    await sleep(250);
  }
  const wall = performance.now() - t0;
  frames.on = false;
  await frame();
  return {
    ranks,
    burstDeltas: k.handlerMs.length,
    burstWallMs: Math.round(wall),
    handlerMaxMs: +Math.max(...k.handlerMs).toFixed(1),
    handlerMeanMs: +(k.handlerMs.reduce((a, b) => a + b, 0) / k.handlerMs.length).toFixed(2),
    frames: frames.frames,
    maxFrameGapMs: Math.round(frames.maxGap),
    longTasks: lt.count,
    longTaskMaxMs: Math.round(lt.max),
  };
}

function lastLogLine() {
  const lines = $$("[data-testid=mltrain-log] .mltrain-log-body .mltrain-line");
  return lines.length ? lines[lines.length - 1].textContent : null;
}

function stripAnsi(s) {
  return s.replace(/\x1b\[[0-9;]*m/g, "");
}

async function live() {
  const ranks = 2;
  const model = new FakeModel(baseTraits(ranks));
  const k = new FakeKernel(model);
  const { el, cleanup } = mount(model);
  phase("queued");
  await frame();
  check("renders with status Queued", $("[data-testid=mltrain-status]")?.textContent === "Queued");
  check("sends one sync on render", H.sent.filter((m) => m.type === "sync").length === 1, JSON.stringify(H.sent));
  check("log placeholder while empty", $(".mltrain-log-empty") && !$(".mltrain-log-empty").hidden);
  await sleep(700);
  phase("preparing");
  const stages = { ...model.get("stages"), Preparing: Date.now() / 1000 };
  k.traits({ status: "Preparing", stages });
  await sleep(900);
  phase("running");
  k.traits({ status: "Running", stages: { ...stages, Running: Date.now() / 1000 } });
  const last = {};
  let step = 0;
  const total = 1200;
  for (let i = 0; i < 12; i++) {
    await training(k, ranks, { steps: 6, from: step, total, last });
    step += 6;
    if (i === 6) k.dropNext = true; // a lost delta: the next one shows a gap
    await sleep(250);
  }
  await frame();
  check("a gap in seq asks for a sync", H.sent.filter((m) => m.type === "sync").length >= 2, JSON.stringify(H.sent));
  await sleep(100);
  await training(k, ranks, { steps: 6, from: step, total, last });
  step += 6;
  await frame();
  await frame();
  const want = stripAnsi(k.logs["0"][k.logs["0"].length - 1]);
  check("after the sync the pane has every line (last line matches)", lastLogLine() === want, `${lastLogLine()} vs ${want}`);
  const nLines = $$(".mltrain-log-body .mltrain-line").length;
  model.custom(k.lastMsg); // delivered twice: the second copy is ignored
  await frame();
  check("a repeated delta is ignored", $$(".mltrain-log-body .mltrain-line").length === nLines, `${nLines} -> ${$$(".mltrain-log-body .mltrain-line").length}`);
  check("rank 0 shown by default", $("[data-testid=mltrain-rank-select]").value === "0");
  check("partial tqdm line shown", $(".mltrain-log-partial")?.textContent.startsWith("train:"), $(".mltrain-log-partial")?.textContent);
  check("ANSI colours become classes", $("[data-testid=mltrain-log] .ansi-green-fg") != null);
  check("three charts", $$("[data-testid=mltrain-chart]").length === 3, $$("[data-testid=mltrain-chart]").map((c) => c.dataset.metric).join());
  check("chart canvases drawn", $$("[data-testid=mltrain-chart] canvas").length === 3);
  check("metrics table has a column per rank", $$(".mltrain-metrics-table thead th").length === 1 + ranks);
  check("progress shows step/total", /step \d+ \/ 1200/.test($("[data-testid=mltrain-progress]").textContent), $("[data-testid=mltrain-progress]").textContent);
  check("timeline has 3 segments", $$(".mltrain-timeline-seg").length === 3);
  const e1 = $(".mltrain-elapsed").textContent;
  await sleep(1100);
  check("elapsed ticks", $(".mltrain-elapsed").textContent !== e1, `${e1} -> ${$(".mltrain-elapsed").textContent}`);
  await shoot("running");

  // Cancel confirmation: shown inline, "No" goes back.
  $("[data-testid=mltrain-cancel]").click();
  await frame();
  check("cancel asks inline", $(".mltrain-confirm") && !$(".mltrain-confirm").hidden && $("[data-testid=mltrain-cancel]").hidden);
  await shoot("confirm");
  $("[data-testid=mltrain-cancel-no]").click();
  check("No keeps the run", !H.sent.some((m) => m.type === "cancel") && !$("[data-testid=mltrain-cancel]").hidden);

  // Burst: 100k lines/s per rank arrive as 4 deltas/s of 1000 lines (+24000 skipped each).
  phase("burst");
  const bs = { step, total, last };
  H.perf.rank0 = await burst(k, ranks, 16, bs);
  step = bs.step;
  const lines = $$("[data-testid=mltrain-log] .mltrain-log-body .mltrain-line").length;
  check("at most 5000 lines in the pane", lines <= 5000, lines);
  check("the pane says how many earlier lines are hidden", /… [\d,]+ earlier lines not shown/.test($(".mltrain-log-note").textContent), $(".mltrain-log-note").textContent);
  check("skip markers say lines were skipped", $(".mltrain-line-skip") != null);
  check("HTML in log lines is escaped", $("[data-testid=mltrain-log] b") == null && /<b>not bold<\/b>/.test(lastLogLine() ?? ""));
  check("still following the bottom", Math.abs($("[data-testid=mltrain-log]").scrollHeight - $("[data-testid=mltrain-log]").scrollTop - $("[data-testid=mltrain-log]").clientHeight) < 10);
  check("burst kept the page responsive (max frame gap < 250 ms)", H.perf.rank0.maxFrameGapMs < 250, JSON.stringify(H.perf.rank0));
  await shoot("burst");

  // Scroll up: following stops; back to the bottom: it resumes.
  phase("scroll");
  const pane = $("[data-testid=mltrain-log]");
  pane.dispatchEvent(new WheelEvent("wheel", { deltaY: -500 }));
  pane.scrollTop = pane.scrollHeight / 2;
  await sleep(50);
  const anchorText = document.elementFromPoint(pane.getBoundingClientRect().left + 20, pane.getBoundingClientRect().top + 40)?.textContent;
  await training(k, ranks, { steps: 2, from: step, total, last, burst: true });
  step += 2;
  await frame();
  await frame();
  check("scrolled up: no auto-scroll", pane.scrollHeight - pane.scrollTop - pane.clientHeight > 100, `${pane.scrollTop}/${pane.scrollHeight}`);
  check("follow button offered", !$(".mltrain-log-follow").hidden);
  const anchorAfter = document.elementFromPoint(pane.getBoundingClientRect().left + 20, pane.getBoundingClientRect().top + 40)?.textContent;
  check("view stays on the same lines while old ones drop", anchorText === anchorAfter, `${anchorText?.slice(0, 40)} | ${anchorAfter?.slice(0, 40)}`);
  await shoot("scrolled");
  pane.scrollTop = pane.scrollHeight;
  await sleep(50);
  await training(k, ranks, { steps: 2, from: step, total, last });
  step += 2;
  await frame();
  await frame();
  check("back at the bottom: follows again", pane.scrollHeight - pane.scrollTop - pane.clientHeight < 10);

  // All ranks view, then back to normal lines.
  for (let i = 0; i < 4; i++) {
    await training(k, ranks, { steps: 3, from: step, total, last });
    step += 3;
    await sleep(120);
  }
  phase("allranks");
  const sel = $("[data-testid=mltrain-rank-select]");
  sel.value = "all";
  sel.dispatchEvent(new Event("change"));
  await frame();
  check("all ranks: lines prefixed with [r]", $$(".mltrain-log-body .mltrain-line-rank").length > 0);
  const tail = $$(".mltrain-log-body .mltrain-line").slice(-6).map((l) => l.querySelector(".mltrain-line-rank")?.textContent);
  check("all ranks: both ranks interleaved at the end", new Set(tail).size === 2, tail.join(" "));
  const st2 = { step, total, last };
  H.perf.allRanks = await burst(k, ranks, 8, st2);
  step = st2.step;
  check("all ranks burst kept the page responsive", H.perf.allRanks.maxFrameGapMs < 250, JSON.stringify(H.perf.allRanks));
  check("all ranks: at most 5000 lines in the pane", $$(".mltrain-log-body .mltrain-line").length <= 5000);
  for (let i = 0; i < 3; i++) {
    await training(k, ranks, { steps: 3, from: step, total, last });
    step += 3;
    await sleep(100);
  }
  await frame();
  const agg = $("[data-testid=mltrain-agg-select]");
  agg.value = "minmax";
  agg.dispatchEvent(new Event("change"));
  await frame();
  // The band between min and max is filled, visibly: a real share of the plot's pixels carries the
  // band's fill (the canvas is transparent, so a pixel's alpha is what was drawn there: the fill at
  // 0.25-0.4, where a fill faded by the edge lines' alpha would be under 0.1, and lines near 1).
  const plotCanvas = $("[data-testid=mltrain-chart][data-metric=gpu_mem_gb] canvas");
  const px = plotCanvas.getContext("2d").getImageData(0, 0, plotCanvas.width, plotCanvas.height).data;
  let band = 0;
  for (let i = 0; i < px.length; i += 4) if (px[i + 3] >= 55 && px[i + 3] <= 115 && px[i + 2] > px[i]) band++;
  const share = band / (px.length / 4);
  check(`min-max band visible (${document.body.dataset.jpThemeLight === "false" ? "dark" : "light"} theme)`, share > 0.05, `band fills ${(share * 100).toFixed(1)}% of the plot`);
  await shoot("allranks");
  agg.value = "rank";
  agg.dispatchEvent(new Event("change"));

  // Failure on rank 1.
  phase("failed");
  k.delta({
    logs: { "1": TRACEBACK.split("\n") },
    partial: {},
  });
  const now = Date.now() / 1000;
  const st = { ...model.get("stages"), Finalizing: now, Failed: now + 1.2 };
  k.traits({
    status: "Failed",
    stages: st,
    ended: now + 1.2,
    cancel_pending: false,
    root_cause: {
      message: "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 1; 79.15 GiB total capacity)",
      rank: 1,
      host: "gpu-node-a",
      exit_code: 1,
      signal: null,
      traceback: TRACEBACK,
      stderr_tail: "W0101 12:00:01 warnings.py:109] UserWarning: <script>alert(1)</script>\n" + TRACEBACK,
    },
    outputs: [
      { path: "outputs/checkpoints/epoch-1.pt", size: 98234112 },
      { path: "outputs/metrics.json", size: 2311 },
      { path: "outputs/tensorboard/events.out.tfevents.1735732800", size: 512 },
    ],
    files_url: "/mltrain/runs/r-20250101-7f3a/files",
  });
  await frame();
  await frame();
  check("status badge Failed", $("[data-testid=mltrain-status]").textContent === "Failed");
  check("root cause shown", !$("[data-testid=mltrain-root-cause]").hidden && /CUDA out of memory/.test($("[data-testid=mltrain-root-cause]").textContent));
  check("root cause names rank, host, exit code", /rank 1/.test($(".mltrain-rc-facts").textContent) && /gpu-node-a/.test($(".mltrain-rc-facts").textContent) && /exit code 1/.test($(".mltrain-rc-facts").textContent));
  check("stderr tail escaped", $("[data-testid=mltrain-root-cause] script") == null);
  check("outputs listed", $$("[data-testid=mltrain-outputs] li").length === 3);
  check("cancel hidden when final", $("[data-testid=mltrain-cancel]").hidden);
  check("log link when files_url is set", $(".mltrain-logpath a")?.getAttribute("href") === "/mltrain/runs/r-20250101-7f3a/files/logs/rank-0.log", $(".mltrain-logpath a")?.getAttribute("href"));
  const took = $(".mltrain-elapsed").textContent;
  await sleep(1100);
  check("final duration does not tick", $(".mltrain-elapsed").textContent === took && took.startsWith("took"), took);
  sel.value = "1";
  sel.dispatchEvent(new Event("change"));
  await frame();
  await shoot("failed");

  // Charts follow the container's width.
  const slot = $("#slot");
  slot.style.maxWidth = "560px";
  await sleep(100);
  await frame();
  const cell = $("[data-testid=mltrain-chart]");
  const canvas = cell.querySelector("canvas");
  check("charts resize with the container", canvas.getBoundingClientRect().width <= cell.clientWidth + 1 && cell.clientWidth < 560, `${canvas.getBoundingClientRect().width} in ${cell.clientWidth}`);
  // Hovering a chart shows the values in its legend.
  const over = cell.querySelector(".u-over");
  const box = over.getBoundingClientRect();
  over.dispatchEvent(new MouseEvent("mouseenter", { clientX: box.left + box.width / 2, clientY: box.top + box.height / 2, bubbles: true }));
  over.dispatchEvent(new MouseEvent("mousemove", { clientX: box.left + box.width / 2, clientY: box.top + box.height / 2, bubbles: true }));
  await frame();
  const values = [...cell.querySelectorAll(".u-legend .u-value")].map((v) => v.textContent);
  check("hover shows values in the legend", values.length === 3 && values.every((v) => v !== "–" && v !== ""), values.join(" "));
  await shoot("narrow");
  slot.style.maxWidth = "";
  // The copy button copies (or, without clipboard access, selects) the path.
  const copy = $(".mltrain-logpath .mltrain-linkbutton");
  copy.click();
  await sleep(100);
  check("copy button answers", /copied|selected/.test(copy.textContent), copy.textContent);

  cleanup();
  check("cleanup removes every listener", model.listeners() === 0, model.listeners());
  check("cleanup removes the DOM", el.children.length === 0);
}

// ------------------------------------------------------------ other scenarios
async function savedState() {
  // A notebook opened without a kernel: only the traits saved with it, never a delta.
  const t = baseTraits(2);
  const now = Date.now() / 1000 - 3600;
  const logs = {
    "0": Array.from({ length: 40 }, (_, i) => trainLine(0, i * 10, 2 * Math.exp(-i / 10))),
    "1": Array.from({ length: 40 }, (_, i) => trainLine(1, i * 10, 2.1 * Math.exp(-i / 10))),
  };
  const xs = Array.from({ length: 40 }, (_, i) => i * 10);
  Object.assign(t, {
    status: "Completed",
    created: now,
    stages: { Queued: now, Preparing: now + 2, Running: now + 9, Finalizing: now + 600, Completed: now + 604 },
    ended: now + 604,
    clock: now + 604,
    progress: { step: 400, total: 400, rank: 0, time: now + 600 },
    last_metrics: { loss: { "0": 0.0366, "1": 0.0385 }, note: { "0": "done", "1": "done" } },
    outputs: [{ path: "outputs/model.pt", size: 12345678 }],
    history: {
      seq: 17,
      logs,
      partial: {},
      series: { loss: { "0": [xs, xs.map((x) => 2 * Math.exp(-x / 100))], "1": [xs, xs.map((x) => 2.1 * Math.exp(-x / 100))] } },
      x_kind: { loss: "step" },
      skipped: { "0": 12 },
    },
  });
  const model = new FakeModel(t, { kernel: false });
  mount(model);
  phase("saved");
  await frame();
  await frame();
  check("renders Completed from traits alone", $("[data-testid=mltrain-status]").textContent === "Completed");
  check("logs from history", $$(".mltrain-log-body .mltrain-line").length === 40);
  check("history skipped counted as earlier lines", /12 earlier lines/.test($(".mltrain-log-note").textContent), $(".mltrain-log-note").textContent);
  check("chart from history", $$("[data-testid=mltrain-chart]").length === 1);
  check("chart says how many points it holds", $("[data-testid=mltrain-chart]").dataset.points === "80", $("[data-testid=mltrain-chart]").dataset.points);
  check("duration is final", /took 10m 04s/.test($(".mltrain-elapsed").textContent), $(".mltrain-elapsed").textContent);
  check("outputs shown", $$("[data-testid=mltrain-outputs] li").length === 1);
  // A theme switch redraws the charts with the new theme's colours.
  const before = $("[data-testid=mltrain-chart] canvas");
  document.body.dataset.jpThemeLight = document.body.dataset.jpThemeLight === "false" ? "true" : "false";
  await sleep(50);
  await frame();
  const after = $("[data-testid=mltrain-chart] canvas");
  check("theme switch redraws the charts", after && after !== before);
  document.body.dataset.jpThemeLight = document.body.dataset.jpThemeLight === "false" ? "true" : "false";
  await sleep(50);
  await frame();
  await shoot("saved");
}

async function empty() {
  // Every trait missing or null: placeholders, no exception.
  const model = new FakeModel({ history: null, stages: null, progress: null, last_metrics: null, outputs: null, log_paths: null });
  mount(model);
  phase("empty");
  await frame();
  model.custom({ type: "delta", seq: 1, logs: { "0": ["hello"] } }); // history without seq: ask for a sync, don't apply
  const model2 = new FakeModel({ history: {} });
  mount(model2);
  await frame();
  check("renders with no traits", $("[data-testid=mltrain-status]") != null);
  check("no metrics placeholder", $(".mltrain-placeholder") && !$(".mltrain-placeholder").hidden);
  await shoot("empty");
}

async function many() {
  const ranks = 16;
  const model = new FakeModel(baseTraits(ranks));
  const k = new FakeKernel(model);
  mount(model);
  phase("many");
  k.skew = 3600; // the kernel's clock is an hour ahead of the browser's
  const now = Date.now() / 1000 + k.skew;
  k.traits({ status: "Running", created: now - 30, stages: { Queued: now - 30, Preparing: now - 25, Running: now - 5 } });
  const last = {};
  let step = 0;
  for (let i = 0; i < 8; i++) {
    await training(k, ranks, { steps: 5, from: step, total: null, last });
    step += 5;
    await sleep(100);
  }
  k.traits({ progress: { step, total: null, rank: 3, time: Date.now() / 1000 + k.skew } });
  await frame();
  await frame();
  check("clock skew corrected: elapsed ~30s", /elapsed 3\ds/.test($(".mltrain-elapsed").textContent), $(".mltrain-elapsed").textContent);
  check("16 ranks: table shows the mean", $$(".mltrain-metrics-table thead th").length === 2);
  check("16 ranks: charts default to mean", $("[data-testid=mltrain-agg-select]").value === "mean");
  check("rank selector lists every rank + all", $$("[data-testid=mltrain-rank-select] option").length === 17);
  check("indeterminate progress says step N", /^step \d+ · rank 3/.test($(".mltrain-progress-text").textContent), $(".mltrain-progress-text").textContent);
  const st = { step, total: null, last };
  H.perf.many = await burst(k, ranks, 8, st);
  check("16 ranks burst kept the page responsive", H.perf.many.maxFrameGapMs < 250, JSON.stringify(H.perf.many));
  await shoot("many");
}

async function cancel() {
  const model = new FakeModel(baseTraits(2));
  const k = new FakeKernel(model);
  mount(model);
  phase("cancel");
  const now = Date.now() / 1000;
  k.traits({ status: "Running", stages: { Queued: now - 3, Preparing: now - 2, Running: now - 1 } });
  k.onCancel = () => {
    k.traits({ cancel_pending: true });
    setTimeout(() => k.traits({ status: "Canceled", cancel_pending: false, ended: Date.now() / 1000, stages: { ...model.get("stages"), Canceled: Date.now() / 1000 } }), 1500);
  };
  await frame();
  $("[data-testid=mltrain-cancel]").click();
  $("[data-testid=mltrain-cancel-yes]").click();
  check("Yes sends cancel", H.sent.some((m) => m.type === "cancel"));
  await sleep(200);
  check("Canceling… and disabled", $("[data-testid=mltrain-cancel]").disabled && $("[data-testid=mltrain-cancel]").textContent === "Canceling…");
  await shoot("canceling");
  await sleep(1600);
  check("Canceled: button gone", $("[data-testid=mltrain-status]").textContent === "Canceled" && $("[data-testid=mltrain-cancel]").hidden);
  check("no root cause for Canceled", $("[data-testid=mltrain-root-cause]").hidden);
}

const scenarios = { live, nokernel: savedState, empty, many, cancel };
(async () => {
  try {
    await (scenarios[MODE] ?? live)();
  } catch (err) {
    H.errors.push(`harness: ${err && err.stack ? err.stack : err}`);
  }
  check("no page errors", H.errors.length === 0, H.errors.join(" | "));
  phase("done");
  H.done = true;
})();
