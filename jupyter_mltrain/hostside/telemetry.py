"""System telemetry of one rank, sent as ordinary ``system/*`` metrics on the rank's own channel.

The rank agent starts a ``Sampler`` for its program (``MLTRAIN_TELEMETRY_S`` seconds apart, default 1;
``0`` turns it off). Each sample becomes metric records ``{"name", "value", "step": null, "time"}``
(readers chart a metric without steps against time, so the ranks and hosts line up):

- the program's process tree (the program and every descendant, from ``/proc``):
  ``system/cpu_percent`` (utime + stime over the interval; 100 = one full core), ``system/rss_mb``,
  ``system/threads``, ``system/read_mb`` / ``system/write_mb`` (storage bytes since the program
  started, from ``/proc/PID/io`` where readable);
- the host, from local rank 0 only: ``system/host_mem_used_mb``, ``system/host_mem_available_mb``,
  ``system/host_load1``;
- each NVIDIA GPU the rank may use (``CUDA_VISIBLE_DEVICES``, else all), by its index on the host:
  ``system/gpu{i}_util`` (%), ``_mem_mb``, ``_mem_total_mb``, ``_power_w``, ``_temp_c``,
  ``_sm_clock_mhz`` — through NVML (``pynvml`` from nvidia-ml-py, when that host has it) or else
  ``nvidia-smi``; neither: no GPU metrics.

The parsing functions are pure, for tests. Standard library only (``pynvml`` is looked up at run time).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

INTERVAL_ENV = "MLTRAIN_TELEMETRY_S"
DEFAULT_INTERVAL_S = 1.0
PREFIX = "system/"
NVIDIA_SMI_QUERY = "index,utilization.gpu,memory.used,memory.total,power.draw,temperature.gpu,clocks.sm"
# The metric suffix of each nvidia-smi column after the index, in NVIDIA_SMI_QUERY's order.
GPU_FIELDS = ("util", "mem_mb", "mem_total_mb", "power_w", "temp_c", "sm_clock_mhz")
NVIDIA_SMI_TIMEOUT_S = 5.0
_MB = 1024 * 1024


def interval_from_env(env: dict[str, str]) -> float:
    """The sampling interval in seconds (``MLTRAIN_TELEMETRY_S``); 0 when off or not a number >= 0."""
    raw = env.get(INTERVAL_ENV)
    if raw is None:
        return DEFAULT_INTERVAL_S
    try:
        value = float(raw)
    except ValueError:
        return 0.0
    return value if value > 0 and value != float("inf") else 0.0


def parse_stat(text: str) -> tuple[int, int, int, int]:
    """``/proc/PID/stat`` → (ppid, utime + stime in clock ticks, threads, rss in pages)."""
    rest = text.rsplit(")", 1)[1].split()  # the command name may hold spaces and parentheses
    return int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[17]), int(rest[21])


def parse_io(text: str) -> tuple[int, int]:
    """``/proc/PID/io`` → (read_bytes, write_bytes): what the process made the storage layer fetch and write."""
    values = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if value.strip().isdigit():
            values[key.strip()] = int(value)
    return values.get("read_bytes", 0), values.get("write_bytes", 0)


def parse_meminfo(text: str) -> tuple[float, float]:
    """``/proc/meminfo`` → (used MB, available MB), used being total less available."""
    kb = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        parts = value.split()
        if parts and parts[0].isdigit():
            kb[key] = int(parts[0])
    total, available = kb.get("MemTotal", 0), kb.get("MemAvailable", kb.get("MemFree", 0))
    return (total - available) / 1024, available / 1024


def parse_loadavg(text: str) -> float:
    """``/proc/loadavg`` → the one-minute load average."""
    return float(text.split()[0])


def visible_gpus(env: dict[str, str]) -> set[int] | None:
    """GPU indexes ``CUDA_VISIBLE_DEVICES`` allows (None: every GPU; an empty set: none)."""
    raw = env.get("CUDA_VISIBLE_DEVICES")
    if raw is None:
        return None
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    if ids and not all(i.lstrip("-").isdigit() for i in ids):
        return None  # GPU UUIDs or MIG names: not mapped to indexes here, so every GPU is shown
    out: set[int] = set()
    for i in ids:
        if int(i) < 0:
            break  # CUDA stops at the first invalid id
        out.add(int(i))
    return out


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None  # "[N/A]", "[Not Supported]"
    return value if value == value else None


def parse_nvidia_smi(text: str) -> dict[int, dict[str, float]]:
    """``nvidia-smi --query-gpu=NVIDIA_SMI_QUERY --format=csv,noheader,nounits`` → {index: {field: value}}."""
    out: dict[int, dict[str, float]] = {}
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 1 + len(GPU_FIELDS) or not parts[0].isdigit():
            continue
        values = {name: _number(raw) for name, raw in zip(GPU_FIELDS, parts[1:], strict=True)}
        out[int(parts[0])] = {k: v for k, v in values.items() if v is not None}
    return out


def nvml_values(
    util_gpu: Any, mem_used: Any, mem_total: Any, power_mw: Any, temp_c: Any, sm_mhz: Any
) -> dict[str, float]:
    """One GPU's values as NVML gives them (bytes, milliwatts; None where the GPU does not say) → GPU_FIELDS."""
    raw = {
        "util": util_gpu,
        "mem_mb": None if mem_used is None else mem_used / _MB,
        "mem_total_mb": None if mem_total is None else mem_total / _MB,
        "power_w": None if power_mw is None else power_mw / 1000,
        "temp_c": temp_c,
        "sm_clock_mhz": sm_mhz,
    }
    return {k: float(v) for k, v in raw.items() if v is not None}


def gpu_metrics(gpus: dict[int, dict[str, float]], allowed: set[int] | None) -> dict[str, float]:
    """``system/gpu{i}_{field}`` for each GPU in ``allowed`` (None: all)."""
    return {
        f"{PREFIX}gpu{index}_{field}": value
        for index, values in sorted(gpus.items())
        if allowed is None or index in allowed
        for field, value in values.items()
    }


def metric_lines(values: dict[str, float], when: float, attempt: int = 1) -> bytes:
    """Metric records as the runtime writes them (JSON lines; ``attempt`` only from the second attempt).

    Spelled with a space after each colon (``json.dumps``' default), unlike the runtime's, so that the
    supervisor tells the agent's frames from the program's (``is_telemetry``).
    """
    extra: dict[str, Any] = {"attempt": attempt} if attempt > 1 else {}
    return "".join(
        json.dumps({"name": name, "value": value, "step": None, "time": round(when, 6), **extra}) + "\n"
        for name, value in values.items()
    ).encode()


def is_telemetry(payload: bytes) -> bool:
    """Whether a METRICS frame's payload is the rank agent's telemetry (``metric_lines``), not the program's."""
    return payload.startswith(_TELEMETRY_START)


_TELEMETRY_START = b'{"name": "' + PREFIX.encode()


def query_nvidia_smi(exe: str, query: str, timeout: float) -> str | None:
    """What ``nvidia-smi --query-gpu=QUERY --format=csv,noheader,nounits`` prints; None when it fails."""
    try:
        return subprocess.run(
            [exe, f"--query-gpu={query}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def _read(path: str) -> str | None:
    """A small /proc file's text (one system call to read it: several times cheaper than ``open()``)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, 1 << 16).decode(errors="replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (``/proc/PID/task/TID/children``; a scan of ``/proc`` where the kernel lacks it)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    kids: list[int] = []
    for tid in tasks:
        text = _read(f"/proc/{pid}/task/{tid}/children")
        if text is None:
            return _children_by_scan(pid)
        kids.extend(int(k) for k in text.split())
    return kids


def _children_by_scan(pid: int) -> list[int]:
    kids = []
    for name in os.listdir("/proc"):
        text = _read(f"/proc/{name}/stat") if name.isdigit() else None
        if text is not None and parse_stat(text)[0] == pid:
            kids.append(int(name))
    return kids


class ProcessTree:
    """CPU, memory, threads and I/O of a process and all its descendants, sample after sample."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.ticks_per_s = os.sysconf("SC_CLK_TCK")
        self.page_mb = os.sysconf("SC_PAGE_SIZE") / _MB
        self.last_ticks: dict[int, int] = {}
        self.last_io: dict[int, tuple[int, int]] = {}
        self.gone_io = (0, 0)  # what processes of the tree that have ended read and wrote
        self.last_time: float | None = None

    def pids(self) -> list[int]:
        """The process and its descendants now."""
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(_children(pid))
        return found

    def sample(self, now: float) -> dict[str, float]:
        """The tree's metrics now (``cpu_percent`` from the second sample on); empty once the process is gone."""
        ticks: dict[int, int] = {}
        io: dict[int, tuple[int, int]] = {}
        rss = threads = 0
        for pid in self.pids():
            stat = _read(f"/proc/{pid}/stat")
            if stat is None:
                continue
            _, cpu, n_threads, pages = parse_stat(stat)
            ticks[pid], threads, rss = cpu, threads + n_threads, rss + pages
            text = _read(f"/proc/{pid}/io")
            if text is not None:
                io[pid] = parse_io(text)
        if not ticks:
            return {}
        ended = [self.last_io[p] for p in self.last_io if p not in io]
        self.gone_io = (self.gone_io[0] + sum(r for r, _ in ended), self.gone_io[1] + sum(w for _, w in ended))
        out = {f"{PREFIX}rss_mb": round(rss * self.page_mb, 3), f"{PREFIX}threads": float(threads)}
        if self.last_time is not None and now > self.last_time:
            used = sum(max(0, t - self.last_ticks.get(p, 0)) for p, t in ticks.items())
            out[f"{PREFIX}cpu_percent"] = round(100.0 * used / self.ticks_per_s / (now - self.last_time), 2)
        if io or self.gone_io != (0, 0):
            out[f"{PREFIX}read_mb"] = round((self.gone_io[0] + sum(r for r, _ in io.values())) / _MB, 3)
            out[f"{PREFIX}write_mb"] = round((self.gone_io[1] + sum(w for _, w in io.values())) / _MB, 3)
        self.last_ticks, self.last_io, self.last_time = ticks, io, now
        return out


def host_metrics() -> dict[str, float]:
    """This host's memory in use and available, and its one-minute load."""
    out: dict[str, float] = {}
    meminfo, loadavg = _read("/proc/meminfo"), _read("/proc/loadavg")
    if meminfo is not None:
        used, available = parse_meminfo(meminfo)
        out[f"{PREFIX}host_mem_used_mb"] = round(used, 1)
        out[f"{PREFIX}host_mem_available_mb"] = round(available, 1)
    if loadavg is not None:
        out[f"{PREFIX}host_load1"] = parse_loadavg(loadavg)
    return out


class GPUReader:
    """Reads the GPUs through NVML when ``pynvml`` imports, else ``nvidia-smi``, else reads nothing."""

    def __init__(self) -> None:
        self.nvml: ModuleType | None = None
        self.smi = shutil.which("nvidia-smi")
        try:
            nvml = importlib.import_module("pynvml")
            nvml.nvmlInit()
            self.nvml = nvml
        except Exception:  # not installed, or no driver: the next way, or none
            self.nvml = None

    @property
    def available(self) -> bool:
        """Whether there is a way to read GPUs on this host."""
        return self.nvml is not None or self.smi is not None

    def read(self) -> dict[int, dict[str, float]]:
        """{index: values} for every GPU of the host; empty when none could be read."""
        if self.nvml is not None:
            try:
                return self._read_nvml(self.nvml)
            except Exception:
                self.nvml = None  # a driver that stopped answering: fall back
        out = query_nvidia_smi(self.smi, NVIDIA_SMI_QUERY, NVIDIA_SMI_TIMEOUT_S) if self.smi else None
        if out is None:
            self.smi = None  # it will not get better: stop paying for it
            return {}
        return parse_nvidia_smi(out)

    @staticmethod
    def _read_nvml(nvml: ModuleType) -> dict[int, dict[str, float]]:
        def ask(call: Callable[..., Any], *args: Any) -> Any:
            try:
                return call(*args)
            except Exception:  # NVMLError_NotSupported on this GPU
                return None

        out = {}
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            util = ask(nvml.nvmlDeviceGetUtilizationRates, handle)
            memory = ask(nvml.nvmlDeviceGetMemoryInfo, handle)
            out[index] = nvml_values(
                None if util is None else util.gpu,
                None if memory is None else memory.used,
                None if memory is None else memory.total,
                ask(nvml.nvmlDeviceGetPowerUsage, handle),
                ask(nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU),
                ask(nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_SM),
            )
        return out


class Sampler(threading.Thread):
    """A daemon thread that samples a program every ``interval`` seconds and hands ``send`` the metric lines."""

    def __init__(self, pid: int, interval: float, env: dict[str, str], send: Callable[[bytes], None]) -> None:
        super().__init__(name="mltrain-telemetry", daemon=True)
        self.tree = ProcessTree(pid)
        self.interval = interval
        self.send = send
        self.host = env.get("LOCAL_RANK", "0") == "0"  # one rank per host sends the host's metrics
        self.allowed = visible_gpus(env)
        attempt = env.get("MLTRAIN_ATTEMPT", "1")
        self.attempt = int(attempt) if attempt.isdigit() else 1
        self.gpus: GPUReader | None = None
        self.stopped = threading.Event()

    def stop(self) -> None:
        """Stop after the current sample (no more frames)."""
        self.stopped.set()

    def sample(self) -> dict[str, float]:
        """One sample of everything this rank reports."""
        values = self.tree.sample(time.monotonic())
        if not values:
            return {}
        if self.host:
            values.update(host_metrics())
        if self.gpus is None:
            self.gpus = GPUReader()  # here, not at start: NVML's import and init stay off the program's start
        if self.gpus.available and self.allowed != set():
            values.update(gpu_metrics(self.gpus.read(), self.allowed))
        return values

    def run(self) -> None:
        """Sample until stopped or the program is gone; a failing sample never stops the rank."""
        self.tree.sample(time.monotonic())  # the CPU baseline
        while not self.stopped.wait(self.interval):
            try:
                values = self.sample()
            except Exception:  # telemetry must never take the rank down
                continue
            if not values:
                return
            if not self.stopped.is_set():
                self.send(metric_lines(values, time.time(), self.attempt))
