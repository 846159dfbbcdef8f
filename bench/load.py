"""Load (issue 6): a metric flood, a log flood and a store of 10,000 runs, on one real ``jupyter server``.

(a) Store with 10,000 runs: ``mltrain runs`` as a subprocess (every row, and ``--limit 50``;
    p50 of 5), the panel's list (``GET runs``, first page of 50; 100 requests, the helper of
    ``server.py``) and ``%train_runs`` in an IPython shell (50 calls after one warm-up).
    Targets: CLI ≤ 1 s, list and ``%train_runs`` p99 ≤ 300 ms.
(b) Metric flood: one run of 4 ranks, each paced to log 250,000 values/s (1,000,000/s in all)
    for ``MLTRAIN_BENCH_LOAD_S`` seconds (default 30); a rank that cannot keep the pace logs as
    fast as it can. Rank 0 also logs a marker ``lag`` = ``time.time()`` every 20 ms. Each rank
    prints how many values it logged; the lines of ``metrics/rank-*.jsonl`` must add up to
    exactly that. The rate row gives the rate of ``log()`` calls and the rate recorded end to end
    (values / time from the first ``log()`` to the last line on disk; file sizes are sampled
    every 10 ms, which also dates each marker's arrival on disk). Meanwhile, the widget (a
    ``RunWidget`` driven in its own process, as a kernel's event loop drives it) and a websocket
    client of ``runs/{id}/stream`` (the panel's path) time each marker they get: lag =
    send/receive time − value, and the readers' own part, send/receive time − on disk.
    Targets: 1,000,000 values/s; all recorded; lag p99 ≤ 1 s with every marker seen.
(c) Log flood: one rank writes whole lines to stdout paced to 100 MB/s for
    min(10, MLTRAIN_BENCH_LOAD_S) seconds; ``logs/rank-0.log`` must equal what was written,
    byte for byte. Peak RSS of the supervisor, the rank agent and the program (VmHWM, read
    from ``/proc`` every 100 ms). Targets: 100 MB/s; supervisor peak RSS ≤ 200 MB.

The 50-websocket-clients row is ``server.py``'s. MB = 10^6 bytes.

    .venv/bin/python bench/load.py            # or: bench/run_all.py --only load
    MLTRAIN_BENCH_LOAD_S=5 .venv/bin/python bench/load.py
"""

from __future__ import annotations

import asyncio
import bisect
import json
import math
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from _common import (
    Row,
    Server,
    fill_store,
    finish,
    follow_stream,
    ipython_shell,
    median,
    ms,
    note,
    percentile,
    print_rows,
    scratch,
    write_source,
)
from capture import make_block
from server import list_latency

from jupyter_mltrain.api import Run, submit
from jupyter_mltrain.engine.spec import Distribution, RunSpec
from jupyter_mltrain.engine.store import Store

RUNS = 10_000
RANKS = 4
METRIC_RATE = 1_000_000  # values/s, all ranks together
LOG_RATE = 100e6  # bytes/s
LOG_SECONDS_MAX = 10.0
MARKER_EVERY_S = 0.020
CLI_GOAL_S, LIST_GOAL_S, LAG_P99_S = 1.0, 0.300, 1.0
RSS_GOAL_MB = 200.0
POLL_S = 0.1


def duration_s() -> float:
    """Seconds of the metric flood: ``MLTRAIN_BENCH_LOAD_S`` (default 30)."""
    return float(os.environ.get("MLTRAIN_BENCH_LOAD_S", "30"))


METRICS_SCRIPT = f"""\
import os, sys, time
from jupyter_mltrain import flush, log

rate, seconds = float(sys.argv[1]), float(sys.argv[2])
rank = int(os.environ["RANK"])
n = markers = 0
next_marker = 0.0
t0 = time.perf_counter()
end = t0 + seconds
while True:
    now = time.perf_counter()
    if now >= end:
        break
    if rank == 0 and now >= next_marker:
        log("lag", time.time())
        markers += 1
        next_marker = now + {MARKER_EVERY_S}
    ahead = n - (now - t0) * rate
    if ahead > 0:
        time.sleep(min(ahead / rate, 0.002))
        continue
    for i in range(n, n + 500):
        log("x", i, step=i)
    n += 500
t1 = time.perf_counter()
ended = time.time()
flush()
t2 = time.perf_counter()
hwm = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(f"bench-load rank={{rank}} values={{n}} markers={{markers}} loop_s={{t1 - t0:.3f}} flush_s={{t2 - t1:.3f}} "
      f"ended={{ended:.3f}} vmhwm_kb={{hwm}}", flush=True)
"""

LOGS_SCRIPT = """\
import json, os, sys, time

block = open("block.bin", "rb").read()
rate, seconds = float(sys.argv[1]), float(sys.argv[2])
write = getattr(sys.stdout.buffer, "raw", sys.stdout.buffer).write
reps = 0
t0 = time.perf_counter()
end = t0 + seconds
while True:
    now = time.perf_counter()
    if now >= end:
        break
    ahead = reps * len(block) - (now - t0) * rate
    if ahead > 0:
        time.sleep(min(ahead / rate, 0.005))
        continue
    view = memoryview(block)
    while view:
        view = view[write(view):]
    reps += 1
seconds = time.perf_counter() - t0
with open(os.path.join(os.environ["MLTRAIN_OUTPUTS_DIR"], "printed.json"), "w") as fh:
    json.dump({"reps": reps, "seconds": seconds, "ended": time.time()}, fh)
"""

_RANK_LINE = re.compile(
    r"bench-load rank=(\d+) values=(\d+) markers=(\d+) loop_s=([\d.]+) flush_s=([\d.]+) "
    r"ended=([\d.]+) vmhwm_kb=(\d+)"
)
_MARKER = re.compile(r'"name":\s*"lag",\s*"value":\s*([-+0-9.eE]+)')
_MARKER_ON_DISK = re.compile(rb'"name":"lag","value":([-+0-9.eE]+)')
_THINNED = re.compile(r'"thinned":\s*(\d+)')


# ---- peak memory of a run's processes ----------------------------------------------------------


def _status_kb(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        out.setdefault(ppid, []).append(int(name))
    return out


def _role(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmd = fh.read()
    except OSError:
        return "gone"
    if b"jupyter_mltrain.engine.supervisor" in cmd:
        return "supervisor"
    if b"jupyter_mltrain.hostside.rank" in cmd:
        return "agent"
    return "program"


class PeakRss:
    """Polls the peak RSS (VmHWM) of a run's supervisor and every process under it, by role."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.peak_kb: dict[str, int] = {}
        self.pids: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="peak-rss", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        supervisor = None
        next_scan = 0.0
        while not self._stop.is_set():
            if supervisor is None:
                supervisor = self.run.record.supervisor_pid or None
                if supervisor:
                    self.pids[supervisor] = "supervisor"
            now = time.monotonic()
            if supervisor and now >= next_scan:  # new ranks appear in the first seconds only
                children, todo = _children(), [supervisor]
                while todo:
                    for child in children.get(todo.pop(), []):
                        if child not in self.pids:
                            self.pids[child] = _role(child)
                        todo.append(child)
                next_scan = now + 1.0
            for pid, role in list(self.pids.items()):
                kb = _status_kb(pid, "VmHWM")
                if kb is not None and role != "gone":
                    self.peak_kb[role] = max(self.peak_kb.get(role, 0), kb)
            self._stop.wait(POLL_S)

    def stop(self) -> dict[str, float]:
        """Stop polling; peak RSS in MB per role (supervisor, agent, program; the largest of each)."""
        self._stop.set()
        self._thread.join()
        return {role: kb * 1024 / 1e6 for role, kb in self.peak_kb.items()}


class FileSizes:
    """Samples the sizes of some files every 10 ms: when each byte reached the disk, for lag and rate."""

    def __init__(self, paths: list[Path], poll_s: float = 0.010) -> None:
        self.paths = paths
        self.samples: list[tuple[float, list[int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, args=(poll_s,), name="file-sizes", daemon=True)
        self._thread.start()

    def _poll(self, poll_s: float) -> None:
        while not self._stop.is_set():
            sizes = []
            for path in self.paths:
                try:
                    sizes.append(os.stat(path).st_size)
                except FileNotFoundError:
                    sizes.append(0)
            self.samples.append((time.time(), sizes))
            self._stop.wait(poll_s)

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join()

    def column(self, index: int) -> list[int]:
        """The sampled sizes of file ``index``."""
        return [sample[1][index] for sample in self.samples]

    def reached(self, column: list[int], offset: int) -> float:
        """The first sample time at which a file (its ``column``) held ``offset`` bytes (``nan`` if never)."""
        at = bisect.bisect_left(column, offset)
        return self.samples[at][0] if at < len(column) else math.nan

    def total_at(self, when: float) -> int:
        """The files' total size at the last sample taken by ``when``."""
        at = bisect.bisect_right([sample[0] for sample in self.samples], when)
        return sum(self.samples[at - 1][1]) if at else 0

    def span(self) -> tuple[float, float]:
        """When the files together first held bytes, and when they first reached their final total."""
        totals = [sum(sample[1]) for sample in self.samples]
        first = next((t for (t, _), n in zip(self.samples, totals, strict=True) if n > 0), math.nan)
        last = next((t for (t, _), n in zip(self.samples, totals, strict=True) if n >= totals[-1]), math.nan)
        return first, last


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) that process ``pid`` has used so far."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _mb(peaks: dict[str, float], role: str) -> str:
    return f"{peaks[role]:.0f} MB" if role in peaks else "n/a"


def _count_lines(path: Path) -> int:
    count = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(16 << 20):
            count += chunk.count(b"\n")
    return count


# ---- (a) the store --------------------------------------------------------------------------


def _cli_latency(args: list[str], rounds: int = 5) -> list[float]:
    exe = Path(sys.executable).with_name("mltrain")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "jupyter_mltrain.cli"]
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        out = subprocess.run(cmd + args, check=True, capture_output=True, timeout=120).stdout
        times.append(time.perf_counter() - t0)
        lines = out.count(b"\n")
        if lines < 50:
            raise RuntimeError(f"`mltrain {' '.join(args)}` printed {lines} lines")
    return times


def _magic_latency(src: Path, calls: int = 50) -> list[float]:
    cwd = os.getcwd()
    try:
        shell = ipython_shell(src)
        shell.run_line_magic("train_runs", "")  # warm-up: imports, the store opened once
        listed = shell.magics_manager.registry["TrainMagics"].store.count()
        if listed < RUNS:
            raise RuntimeError(f"%train_runs reads a store of {listed} runs, not the benchmark's")
        times = []
        for _ in range(calls):
            t0 = time.perf_counter()
            shell.run_line_magic("train_runs", "")
            times.append(time.perf_counter() - t0)
    finally:
        os.chdir(cwd)
    return times


def _store_rows(server: Server, src: Path) -> list[Row]:
    cli_all = median(_cli_latency(["runs"]))
    cli_50 = median(_cli_latency(["runs", "--limit", "50"]))
    listing = list_latency(server)
    magic = _magic_latency(src)
    l50, l99 = median(listing), percentile(listing, 0.99)
    m50, m99 = median(magic), percentile(magic, 0.99)
    note(
        f"store: mltrain runs {ms(cli_all)} (--limit 50: {ms(cli_50)}); GET runs p50 {ms(l50)} p99 {ms(l99)}; "
        f"%train_runs p50 {ms(m50)} p99 {ms(m99)}"
    )
    return [
        Row(
            f"store with {RUNS:,} runs: `mltrain runs`, panel list, `%train_runs`",
            f"`mltrain runs` p50 {ms(cli_all)} (all rows; `--limit 50` {ms(cli_50)}, p50 of 5); "
            f"GET runs p50 {ms(l50)}, p99 {ms(l99)} ({len(listing)} requests); "
            f"`%train_runs` p50 {ms(m50)}, p99 {ms(m99)} ({len(magic)} calls)",
            f"CLI ≤ {ms(CLI_GOAL_S)}; list, magic p99 ≤ {ms(LIST_GOAL_S)}",
            max(cli_all, cli_50) <= CLI_GOAL_S and l99 <= LIST_GOAL_S and m99 <= LIST_GOAL_S,
        )
    ]


# ---- (b) the metric flood -------------------------------------------------------------------


def follow_widget(run_id: str) -> dict[str, Any]:
    """Drive a RunWidget of ``run_id`` until the run ends; each marker's value and send time, and the feed's counts."""
    from jupyter_mltrain.widget import RunWidget

    run = Run(run_id, Store())
    widget = RunWidget(run)
    seen: list[tuple[float, float]] = []

    def send(msg: dict[str, Any], buffers: Any = None) -> None:
        now = time.time()
        for xy in msg.get("points", {}).get("lag", {}).values():
            seen.extend((value, now) for value in xy[1])

    ticks: list[float] = []
    refresh = widget.refresh

    def timed_refresh() -> bool:
        start = time.monotonic()
        try:
            return refresh()
        finally:
            ticks.append(time.monotonic() - start)

    widget.send = send
    widget.refresh = timed_refresh
    t0, cpu0 = time.monotonic(), time.process_time()
    asyncio.run(widget.follow())
    unread = sum(run.folder.metrics_path(r).stat().st_size - offset for r, offset in widget.feed.metric_offsets.items())
    return {
        "seen": seen,
        "status": widget.status,
        "metric_lines_skipped": widget.feed.metrics_skipped,
        "metrics_thinned": widget.feed.metrics_thinned,
        "points_read": widget.feed.points_read,
        "messages": widget.messages_sent,
        "unread_bytes": unread,
        "wall_s": time.monotonic() - t0,
        "cpu_s": time.process_time() - cpu0,
        "ticks": len(ticks),
        "tick_p50_s": median(ticks),
        "tick_max_s": max(ticks),
    }


def _marker_disk_times(path: Path, sizes: FileSizes) -> dict[float, float]:
    """Each marker value in rank 0's metrics file → when its line reached the disk."""
    out: dict[float, float] = {}
    column = sizes.column(0)
    base, rest = 0, b""
    with open(path, "rb") as fh:
        while chunk := fh.read(16 << 20):
            data = rest + chunk
            cut = data.rfind(b"\n") + 1
            for m in _MARKER_ON_DISK.finditer(data, 0, cut):
                out[float(m.group(1))] = sizes.reached(column, base + m.end())
            base, rest = base + cut, data[cut:]
    return out


def _lag_text(lags: list[float]) -> str:
    return (
        f"p50 {ms(median(lags) if lags else math.nan)}, p99 {ms(percentile(lags, 0.99))}, "
        f"max {ms(max(lags, default=math.nan))}"
    )


def _metric_rows(server: Server, src: Path, store: Store, seconds: float) -> list[Row]:
    write_source(src, {"metrics_flood.py": METRICS_SCRIPT})
    spec = RunSpec(
        entry="metrics_flood.py",
        source=str(src),
        args=(str(METRIC_RATE / RANKS), str(seconds)),
        distribution=Distribution(processes_per_node=RANKS),
        name="load-metrics",
    )
    server_cpu0, server_kb0 = _cpu_s(server.proc.pid), _status_kb(server.proc.pid, "VmHWM") or 0
    run = submit(spec, store)
    peaks = PeakRss(run)
    sizes = FileSizes([run.folder.metrics_path(r) for r in range(RANKS)])
    # The widget lives in a process of its own, as a kernel does: its reads must not slow the panel's client.
    widget = subprocess.Popen([sys.executable, __file__, "widget", run.id], stdout=subprocess.PIPE)
    ws_seen: list[tuple[float, float]] = []
    ws_bytes = [0, 0]  # received, and values the server thinned out

    def on_message(now: float, kind: str, raw: str) -> None:
        ws_bytes[0] += len(raw)
        if kind == "metrics":
            thinned = _THINNED.search(raw)
            ws_bytes[1] += int(thinned.group(1)) if thinned else 0
            if '"lag"' in raw:
                ws_seen.extend((float(v), now) for v in _MARKER.findall(raw))

    t0, client_cpu0 = time.monotonic(), time.process_time()
    try:
        asyncio.run(follow_stream(server, run.id, on_message))
    finally:
        status = finish(run, timeout=seconds * 4 + 120)
        ws_wall = time.monotonic() - t0
        server_cpu = _cpu_s(server.proc.pid) - server_cpu0
        client_cpu = time.process_time() - client_cpu0  # this process: the websocket client and the samplers
        server_mb = (_status_kb(server.proc.pid, "VmHWM") or 0) * 1024 / 1e6
        peak = peaks.stop()
        sizes.stop()
        out, _ = widget.communicate(timeout=300)
    if widget.returncode != 0:
        raise RuntimeError(f"the widget's process exited {widget.returncode}")
    w = json.loads(out.splitlines()[-1])
    record = run.record
    if status != "Completed":
        raise RuntimeError(f"metric flood {run.id} ended {status}: {record.root_cause}")
    ranks = [_RANK_LINE.search(run.logs(r)) for r in range(RANKS)]
    if not all(ranks):
        raise RuntimeError(f"metric flood: a rank printed no count: {[run.logs(r)[-300:] for r in range(RANKS)]}")
    values = sum(int(m.group(2)) for m in ranks if m)
    markers = sum(int(m.group(3)) for m in ranks if m)
    loop_s = max(float(m.group(4)) for m in ranks if m)
    flush_s = max(float(m.group(5)) for m in ranks if m)
    last_log = max(float(m.group(6)) for m in ranks if m)
    began = min(float(m.group(6)) - float(m.group(4)) for m in ranks if m)
    program_mb = max(int(m.group(7)) for m in ranks if m) * 1024 / 1e6
    lines = sum(_count_lines(run.folder.metrics_path(r)) for r in range(RANKS))
    size = sum(run.folder.metrics_path(r).stat().st_size for r in range(RANKS))
    logged = values + markers
    rate = values / loop_s
    first_s, full_s = sizes.span()
    disk_rate = lines / (full_s - began)  # end to end: from the first log() to the last line on disk
    on_disk = _marker_disk_times(run.folder.metrics_path(0), sizes)
    disk_lags = sorted(t - v for v, t in on_disk.items())
    lags = {face: sorted(now - v for v, now in seen) for face, seen in (("widget", w["seen"]), ("panel", ws_seen))}
    reader = {
        face: sorted(now - on_disk.get(v, math.nan) for v, now in seen)
        for face, seen in (("widget", w["seen"]), ("panel", ws_seen))
    }
    note(
        f"metrics: {values:,} values + {markers:,} markers by log() in {loop_s:.1f} s = {rate:,.0f}/s; {lines:,} "
        f"lines ({size / 1e6:.0f} MB) on disk: first bytes {first_s - began:.1f} s after the first log(), all "
        f"{full_s - began:.1f} s after it ({disk_rate:,.0f}/s end to end); at the last log() "
        f"{sizes.total_at(last_log) / 1e6:.0f} MB were on disk; longest final flush() {flush_s:.2f} s; last log() → all on disk {full_s - last_log:.2f} s; peak RSS "
        f"supervisor {_mb(peak, 'supervisor')}, agent {_mb(peak, 'agent')}, training process {program_mb:.0f} MB"
    )
    note(f"marker log() → on disk: {_lag_text(disk_lags)} ({len(on_disk)} markers)")
    note(
        f"widget: {len(w['seen'])}/{markers} markers, log() → sent {_lag_text(lags['widget'])}, on disk → sent "
        f"{_lag_text(reader['widget'])}; {w['points_read']:,} points read, {w['metrics_thinned']:,} thinned, "
        f"{w['metric_lines_skipped']:,} metric lines skipped, {w['unread_bytes']:,} bytes left unread at the end; {w['messages']} messages; {w['ticks']} ticks, "
        f"p50 {ms(w['tick_p50_s'])} max {ms(w['tick_max_s'])}; CPU {w['cpu_s']:.1f} s in {w['wall_s']:.1f} s"
    )
    note(
        f"panel: {len(ws_seen)}/{markers} markers, log() → received {_lag_text(lags['panel'])}, on disk → received "
        f"{_lag_text(reader['panel'])}; {ws_bytes[0] / 1e6:.0f} MB of messages, {ws_bytes[1]:,} values thinned; server CPU {server_cpu:.1f} s "
        f"in {ws_wall:.1f} s, peak RSS {server_kb0 * 1024 / 1e6:.0f} → {server_mb:.0f} MB; client CPU {client_cpu:.1f} s"
    )

    def lag_row(face: str, extra: str) -> Row:
        p99 = percentile(lags[face], 0.99)
        return Row(
            f"metric flood: lag of a marker (rank 0, every 20 ms) → {face}",
            f"log() → {face}: {_lag_text(lags[face])}; on disk → {face}: {_lag_text(reader[face])}; "
            f"{len(lags[face]):,}/{markers:,} markers seen{extra}",
            f"p99 ≤ {ms(LAG_P99_S)}, all seen",
            p99 <= LAG_P99_S and len(lags[face]) == markers,
        )

    return [
        Row(
            f"metric flood: {RANKS} ranks log() for {seconds:.0f} s, rate achieved",
            f"log() calls {rate:,.0f}/s ({values:,} values); recorded {disk_rate:,.0f}/s end to end (first "
            f"log() → last line on disk {full_s - began:.1f} s; on disk at the last log(): "
            f"{sizes.total_at(last_log) / size:.0%})",
            f"{METRIC_RATE:,}/s",
            min(rate, disk_rate) >= METRIC_RATE * 0.99,
        ),
        Row(
            "metric flood: every value recorded",
            f"{lines:,}/{logged:,} lines in metrics/rank-*.jsonl ({size / 1e6:.0f} MB); all on disk "
            f"{full_s - last_log:.1f} s after the last log(); marker log() → disk {_lag_text(disk_lags)}; peak RSS "
            f"supervisor {_mb(peak, 'supervisor')}, agent {_mb(peak, 'agent')}, training process {program_mb:.0f} MB",
            "all recorded",
            lines == logged,
        ),
        lag_row(
            "widget",
            f"; kernel CPU {w['cpu_s'] / w['wall_s']:.0%} busy, {w['unread_bytes'] / 1e6:.0f} MB "
            f"unread when it stopped",
        ),
        lag_row(
            "panel",
            f"; {ws_bytes[0] / 1e6:.0f} MB received; server CPU {server_cpu / ws_wall:.0%} busy, "
            f"peak RSS {server_mb:.0f} MB; client CPU {client_cpu / ws_wall:.0%} busy",
        ),
    ]


# ---- (c) the log flood -----------------------------------------------------------------------


def _log_rows(src: Path, store: Store, seconds: float) -> list[Row]:
    block = make_block()
    write_source(src, {"log_flood.py": LOGS_SCRIPT})
    (src / "block.bin").write_bytes(block)
    run = submit(
        RunSpec(entry="log_flood.py", source=str(src), args=(str(LOG_RATE), str(seconds)), name="load-logs"), store
    )
    peaks = PeakRss(run)
    try:
        status = finish(run, timeout=seconds * 10 + 120)
    finally:
        peak = peaks.stop()
    record = run.record
    if status != "Completed":
        raise RuntimeError(f"log flood {run.id} ended {status}: {record.root_cause}")
    printed = json.loads((run.folder.path / "outputs" / "printed.json").read_text())
    expected, expected_lines = printed["reps"] * len(block), printed["reps"] * block.count(b"\n")
    path = run.folder.log_path(0)
    size = path.stat().st_size
    same = size == expected
    with open(path, "rb") as fh:
        while same and (chunk := fh.read(len(block))):
            same = chunk == block
    lines = _count_lines(path)
    rate = expected / printed["seconds"] / 1e6
    drain_s = record.stages.get("Finalizing", record.ended or printed["ended"]) - printed["ended"]
    sup = peak.get("supervisor", math.inf)
    note(
        f"logs: {expected / 1e6:.0f} MB in {printed['seconds']:.1f} s = {rate:.0f} MB/s; log {size:,} bytes, "
        f"{lines:,} lines (written {expected:,} bytes, {expected_lines:,} lines), content "
        f"{'identical' if same else 'DIFFERS'}; end → Finalizing {drain_s:.2f} s; peak RSS supervisor "
        f"{_mb(peak, 'supervisor')}, agent {_mb(peak, 'agent')}, program {_mb(peak, 'program')}"
    )
    return [
        Row(
            f"log flood: 1 rank prints whole lines for {printed['seconds']:.0f} s, rate achieved",
            f"{rate:.0f} MB/s ({expected / 1e6:,.0f} MB)",
            f"{LOG_RATE / 1e6:.0f} MB/s",
            rate >= LOG_RATE / 1e6 * 0.99,
        ),
        Row(
            "log flood: captured completely",
            f"log {size:,} of {expected:,} bytes, {lines:,} of {expected_lines:,} lines, content "
            f"{'identical' if same else 'DIFFERS'}; end → Finalizing {drain_s:.1f} s",
            "log = bytes written",
            same and lines == expected_lines,
        ),
        Row(
            "log flood: peak RSS (VmHWM)",
            f"supervisor {_mb(peak, 'supervisor')}, rank agent {_mb(peak, 'agent')}, program {_mb(peak, 'program')}",
            f"supervisor ≤ {RSS_GOAL_MB:.0f} MB",
            sup <= RSS_GOAL_MB,
        ),
    ]


def run() -> list[Row]:
    """Measure and return the table rows."""
    seconds = duration_s()
    with scratch("load") as (root, store):
        t0 = time.perf_counter()
        fill_store(store, RUNS)
        note(f"store filled with {RUNS:,} runs in {time.perf_counter() - t0:.1f} s")
        server = Server(root)
        try:
            rows = _store_rows(server, root / "src")
            rows += _metric_rows(server, root / "src", store, seconds)
        finally:
            server.stop()
        rows += _log_rows(root / "src", store, min(LOG_SECONDS_MAX, seconds))
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["widget"]:  # the widget's own process, started by the metric flood
        print(json.dumps(follow_widget(sys.argv[2])))
    else:
        print_rows(run())
