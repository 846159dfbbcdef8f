// The root cause of a failed run, and the files a finished run produced.
import { ansiBlock } from "./ansi.js";
import { FINAL, fmtBytes, h, num, signalName } from "./format.js";

const MAX_OUTPUTS = 200;

/** The box naming why a run failed: shown for Failed / Lost with a root cause. */
export function renderRootCause(box, status, rc) {
  if (!(status === "Failed" || status === "Lost") || !rc || typeof rc !== "object") {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  box.hidden = false;
  const facts = [];
  const fact = (label, value) => facts.push(h("span", { class: "mltrain-rc-fact" }, `${label} `, h("b", null, value)));
  if (num(rc.rank) != null) fact("rank", String(rc.rank));
  if (rc.host) fact("host", String(rc.host));
  if (num(rc.exit_code) != null) fact("exit code", String(rc.exit_code));
  if (num(rc.signal) != null) fact("signal", signalName(rc.signal));
  const children = [
    h("div", { class: "mltrain-rc-title" }, h("span", { class: "mltrain-rc-kind" }, status === "Lost" ? "Run lost" : "Run failed"), " ", h("span", { class: "mltrain-rc-message" }, rc.message ? String(rc.message) : "no message")),
  ];
  if (facts.length) children.push(h("div", { class: "mltrain-rc-facts" }, ...facts));
  if (rc.traceback) {
    const pre = h("pre", { class: "mltrain-rc-traceback" });
    pre.innerHTML = ansiBlock(String(rc.traceback).replace(/\n+$/, ""));
    children.push(pre);
  }
  if (rc.stderr_tail) {
    const pre = h("pre", { class: "mltrain-rc-stderr" });
    pre.innerHTML = ansiBlock(String(rc.stderr_tail).replace(/\n+$/, ""));
    children.push(h("details", { class: "mltrain-rc-details", open: !rc.traceback }, h("summary", null, "stderr (last lines)"), pre));
  }
  box.replaceChildren(...children);
}

/** The list of output files, once the run is final. */
export function renderOutputs(box, status, outputs) {
  const list = Array.isArray(outputs) ? outputs.filter((o) => o && typeof o === "object" && o.path) : [];
  if (!FINAL.has(status) || list.length === 0) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  box.hidden = false;
  const total = list.reduce((a, o) => a + (num(o.size) ?? 0), 0);
  const items = list.slice(0, MAX_OUTPUTS).map((o) =>
    h("li", { class: "mltrain-output" }, h("code", { class: "mltrain-path", title: String(o.path) }, String(o.path)), h("span", { class: "mltrain-output-size" }, fmtBytes(num(o.size)))),
  );
  if (list.length > MAX_OUTPUTS) items.push(h("li", { class: "mltrain-output mltrain-dim" }, `… and ${list.length - MAX_OUTPUTS} more`));
  box.replaceChildren(
    h("div", { class: "mltrain-section-head" }, h("span", { class: "mltrain-section-title" }, "Outputs"), h("span", { class: "mltrain-dim" }, `${list.length} file${list.length === 1 ? "" : "s"}, ${fmtBytes(total)}`)),
    h("ul", { class: "mltrain-outputs", "data-testid": "mltrain-outputs" }, ...items),
  );
}

