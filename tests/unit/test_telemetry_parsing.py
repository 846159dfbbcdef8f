"""The telemetry's parsing of /proc, nvidia-smi and NVML values, and its process tree on real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from jupyter_mltrain.hostside.telemetry import (
    GPU_FIELDS,
    ProcessTree,
    gpu_metrics,
    interval_from_env,
    is_telemetry,
    metric_lines,
    nvml_values,
    parse_io,
    parse_loadavg,
    parse_meminfo,
    parse_nvidia_smi,
    parse_stat,
    visible_gpus,
)

# /proc/PID/stat of a python process whose command name holds a space and a parenthesis.
STAT_LINE = (
    "4242 (py thon) x) R 4241 4242 4100 34816 4242 4194304 12190 0 3 0 517 83 0 0 20 0 6 0 "
    "1793511 213467136 24563 18446744073709551615 1 1 0 0 0 0 0 16781312 2 0 0 0 17 1 0 0 0 0 0\n"
)
IO_TEXT = (
    "rchar: 9217312\nwchar: 1048900\nsyscr: 1423\nsyscw: 212\n"
    "read_bytes: 4194304\nwrite_bytes: 2097152\ncancelled_write_bytes: 0\n"
)
MEMINFO = "MemTotal:       24576000 kB\nMemFree:         1024000 kB\nMemAvailable:   16384000 kB\nBuffers: 1 kB\n"
# The query's output as nvidia-smi prints it (csv,noheader,nounits) on a two-GPU host; the second GPU
# reports no power draw ("[N/A]"), as consumer boards do. Recorded format, not a live GPU: this machine has none.
RECORDED_NVIDIA_SMI = "0, 87, 30512, 81559, 312.45, 64, 1980\n1, 0, 4, 81559, [N/A], 33, 345\n"
# What pynvml returns for one GPU: utilization.gpu (%), memory used/total (bytes), power (mW), temperature (C),
# SM clock (MHz); recorded as literals, for the same reason.
RECORDED_NVML = (87, 31993954304, 85520809984, 312450, 64, 1980)


def test_stat_parses_past_a_command_name_with_spaces_and_parentheses() -> None:
    assert parse_stat(STAT_LINE) == (4241, 517 + 83, 6, 24563)


def test_stat_of_this_process_names_its_parent() -> None:
    with open(f"/proc/{os.getpid()}/stat") as fh:
        ppid, ticks, threads, pages = parse_stat(fh.read())
    assert ppid == os.getppid() and ticks >= 0 and threads >= 1 and pages > 0


def test_io_counts_storage_bytes_not_every_read() -> None:
    assert parse_io(IO_TEXT) == (4194304, 2097152)
    assert parse_io("") == (0, 0)


def test_meminfo_and_loadavg() -> None:
    used, available = parse_meminfo(MEMINFO)
    assert (used, available) == ((24576000 - 16384000) / 1024, 16384000 / 1024)
    assert parse_loadavg("1.62 1.70 1.55 3/612 91234\n") == 1.62


def test_nvidia_smi_csv_becomes_metrics_of_the_rank_s_gpus_only() -> None:
    gpus = parse_nvidia_smi(RECORDED_NVIDIA_SMI)
    assert gpus[0] == dict(zip(GPU_FIELDS, [87.0, 30512.0, 81559.0, 312.45, 64.0, 1980.0], strict=True))
    assert "power_w" not in gpus[1] and gpus[1]["temp_c"] == 33.0
    metrics = gpu_metrics(gpus, visible_gpus({"CUDA_VISIBLE_DEVICES": "1"}))
    assert metrics == {
        "system/gpu1_util": 0.0,
        "system/gpu1_mem_mb": 4.0,
        "system/gpu1_mem_total_mb": 81559.0,
        "system/gpu1_temp_c": 33.0,
        "system/gpu1_sm_clock_mhz": 345.0,
    }
    assert len(gpu_metrics(gpus, visible_gpus({}))) == 11
    assert gpu_metrics(gpus, visible_gpus({"CUDA_VISIBLE_DEVICES": ""})) == {}


def test_nvidia_smi_noise_is_skipped() -> None:
    assert parse_nvidia_smi("NVIDIA-SMI has failed because it couldn't communicate with the driver.\n") == {}


def test_nvml_values_in_the_same_units_as_nvidia_smi() -> None:
    values = nvml_values(*RECORDED_NVML)
    assert values["util"] == 87 and values["power_w"] == 312.45 and values["sm_clock_mhz"] == 1980
    assert round(values["mem_mb"]) == 30512 and round(values["mem_total_mb"]) == 81559
    assert "power_w" not in nvml_values(0, 1, 2, None, 30, 210)


def test_visible_gpus_follows_cuda_rules() -> None:
    assert visible_gpus({}) is None
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "0,2"}) == {0, 2}
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "2,-1,3"}) == {2}  # CUDA stops at the first invalid id
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "GPU-5d1e6f2a-9c1b"}) is None


def test_interval_env() -> None:
    assert interval_from_env({}) == 1.0
    assert interval_from_env({"MLTRAIN_TELEMETRY_S": "0.5"}) == 0.5
    assert interval_from_env({"MLTRAIN_TELEMETRY_S": "0"}) == 0.0
    assert interval_from_env({"MLTRAIN_TELEMETRY_S": "soon"}) == 0.0


def test_lines_are_metric_records_the_supervisor_tells_from_the_program_s() -> None:
    data = metric_lines({"system/cpu_percent": 12.5, "system/rss_mb": 80.0}, 1700000000.25, attempt=2)
    records = [json.loads(line) for line in data.splitlines()]
    assert records[0] == {
        "name": "system/cpu_percent",
        "value": 12.5,
        "step": None,
        "time": 1700000000.25,
        "attempt": 2,
    }
    assert is_telemetry(data)
    assert not is_telemetry(b'{"name":"system/cpu_percent","value":1,"step":null,"time":1.0}\n')  # log() by a program
    assert "attempt" not in json.loads(metric_lines({"x": 1.0}, 1.0))


def test_a_busy_grandchild_counts_in_the_process_tree() -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; "
            "p = subprocess.Popen([sys.executable, '-c', 'import time\\nend = time.time() + 5\\nwhile time.time() < end: pass']); "
            "time.sleep(5); p.kill()",
        ],
        start_new_session=True,
    )
    try:
        tree = ProcessTree(child.pid)
        time.sleep(0.5)
        assert len(tree.pids()) == 2
        tree.sample(time.monotonic())
        time.sleep(1.5)
        values = tree.sample(time.monotonic())
        assert values["system/cpu_percent"] > 50, values
        assert values["system/threads"] >= 2 and values["system/rss_mb"] > 5
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    assert tree.sample(time.monotonic()) == {}  # the program is gone: nothing more to report
