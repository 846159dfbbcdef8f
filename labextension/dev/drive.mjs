// Runs harness.html in headless Chromium over the DevTools protocol (a pipe, no
// extra packages) in real time, saves a screenshot at each shoot() point and
// prints the harness results, timings and console errors. Exit status 1 on any
// FAIL or console error.
//
//   python3 -m http.server -b 127.0.0.1 8765 &   # in the repository root, after `npm run build:widget`
//   node labextension/dev/drive.mjs "http://127.0.0.1:8765/labextension/dev/harness.html?mode=live" /tmp/shots
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [url, outDir = "/tmp/mltrain-shots", width = "1200", height = "1400"] = process.argv.slice(2);
if (!url) {
  console.error("usage: node drive.mjs URL [OUTDIR] [WIDTH] [HEIGHT]");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const prefix = new URL(url).searchParams.toString().replace(/[^a-z0-9]+/gi, "-") || "live";

const browser = spawn(
  process.env.CHROMIUM || "chromium",
  [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    `--user-data-dir=${mkdtempSync(join(tmpdir(), "mltrain-chromium-"))}`,
    "--remote-debugging-pipe", "about:blank",
  ],
  { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] },
);
const toBrowser = browser.stdio[3];
const fromBrowser = browser.stdio[4];

let nextId = 1;
const waiting = new Map();
const listeners = [];
let buf = "";
fromBrowser.on("data", (chunk) => {
  buf += chunk.toString("utf8");
  let i;
  while ((i = buf.indexOf("\0")) >= 0) {
    const msg = JSON.parse(buf.slice(0, i));
    buf = buf.slice(i + 1);
    if (msg.id && waiting.has(msg.id)) {
      const { resolve, reject } = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error) reject(new Error(JSON.stringify(msg.error)));
      else resolve(msg.result);
    } else if (msg.method) {
      for (const l of listeners) l(msg);
    }
  }
});

function send(method, params = {}, sessionId) {
  const id = nextId++;
  toBrowser.write(JSON.stringify({ id, method, params, sessionId }) + "\0");
  return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
}

const consoleErrors = [];
let state;
const timer = setTimeout(() => {
  console.log(`timed out in phase ${state?.phase}`);
  for (const e of consoleErrors) console.log(e);
  for (const e of state?.errors ?? []) console.log(e);
  browser.kill();
  process.exit(3);
}, 120000);

try {
  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
  const s = (m, p) => send(m, p, sessionId);
  let shots = Promise.resolve();
  listeners.push((msg) => {
    if (msg.sessionId !== sessionId) return;
    if (msg.method === "Runtime.consoleAPICalled" && (msg.params.type === "error" || msg.params.type === "warning")) {
      consoleErrors.push(`console.${msg.params.type}: ${msg.params.args.map((a) => a.value ?? a.description).join(" ")}`);
    } else if (msg.method === "Runtime.exceptionThrown") {
      consoleErrors.push(`exception: ${msg.params.exceptionDetails.exception?.description ?? msg.params.exceptionDetails.text}`);
    } else if (msg.method === "Log.entryAdded" && msg.params.entry.level === "error") {
      consoleErrors.push(`log: ${msg.params.entry.text} ${msg.params.entry.url ?? ""}`);
    } else if (msg.method === "Runtime.bindingCalled" && msg.params.name === "__cdpShoot") {
      const name = msg.params.payload;
      shots = shots.then(async () => {
        const m = await s("Page.getLayoutMetrics");
        const h = Math.ceil(m.cssContentSize.height);
        const { data } = await s("Page.captureScreenshot", { format: "png", captureBeyondViewport: true, clip: { x: 0, y: 0, width: Number(width), height: h, scale: 1 } });
        const file = join(outDir, `${prefix}-${name}.png`);
        writeFileSync(file, Buffer.from(data, "base64"));
        console.log(`screenshot ${file}`);
        await s("Runtime.evaluate", { expression: "window.__shotDone && window.__shotDone()" });
      });
    }
  });
  await s("Runtime.enable");
  await s("Log.enable");
  await s("Page.enable");
  await s("Emulation.setDeviceMetricsOverride", { width: Number(width), height: Number(height), deviceScaleFactor: 1, mobile: false });
  await s("Runtime.addBinding", { name: "__cdpShoot" });
  await s("Page.navigate", { url });
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    const r = await s("Runtime.evaluate", { expression: "JSON.stringify(window.__harness ?? null)", returnByValue: true });
    state = JSON.parse(r.result.value ?? "null");
    if (state?.done) break;
  }
  await shots;
  for (const r of state.results) console.log(`${r.ok ? "PASS" : "FAIL"} ${r.name}${r.detail && !r.ok ? `: ${r.detail}` : ""}`);
  if (Object.keys(state.perf).length) console.log("perf", JSON.stringify(state.perf));
  for (const e of consoleErrors) console.log(e);
  const failed = state.results.filter((r) => !r.ok).length + consoleErrors.length;
  console.log(failed ? `${failed} problem(s)` : "all passed");
  process.exitCode = failed ? 1 : 0;
} finally {
  clearTimeout(timer);
  browser.kill();
}
