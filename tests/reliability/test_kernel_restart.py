"""A real kernel is killed mid-run; the run goes on, and ``%train_attach`` in the new kernel shows all of it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from helpers import execute
from jupyter_client.manager import start_new_kernel

from jupyter_mltrain.engine.store import Store


@pytest.mark.timeout(240)
def test_kernel_killed_mid_run_then_attach_shows_every_line_and_metric(home: Path, tmp_path: Path) -> None:
    notebook = str(tmp_path / "restart.ipynb")
    env = dict(os.environ, JPY_SESSION_NAME=notebook)  # what jupyter_server gives a notebook's kernel
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=env)
    try:
        execute(kc, "%load_ext jupyter_mltrain")
        execute(
            kc,
            "%%train --np 2\nimport time, jupyter_mltrain as mt\nfor i in range(300):\n"
            "    print('line', i, flush=True)\n    mt.log('m', i, step=i)\n    time.sleep(0.01)\n",
        )
        store = Store()
        deadline = time.monotonic() + 30
        while store.list()[0].status != "Running" and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        km.restart_kernel(now=True)  # SIGKILL, then a fresh kernel
        kc.wait_for_ready(timeout=60)
        assert store.list()[0].status == "Running", "the run must outlive its kernel"
        execute(kc, "%load_ext jupyter_mltrain\n%train_attach --wait")  # no id: the last run of this notebook
        report = execute(
            kc,
            "m = get_ipython().magics_manager.registry['TrainMagics']\n"
            "w = m.widgets[m.last_run_id]\n"
            "print(w.status, w.feed.lines_read(0), w.feed.lines_read(1), sum(len(w.history['series']['m'][r][0]) for r in '01'),\n"
            "      w.history['logs']['0'][0], '|', w.history['logs']['1'][-1], len(w.history['series']['m']['1'][0]))",
        )
        assert report.split() == ["Completed", "300", "300", "600", "line", "0", "|", "line", "299", "300"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.timeout(240)
def test_kernel_killed_during_a_second_attempt_then_attach_shows_both_attempts(home: Path, tmp_path: Path) -> None:
    notebook = str(tmp_path / "attempts.ipynb")
    env = dict(os.environ, JPY_SESSION_NAME=notebook)
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=env)
    try:
        execute(kc, "%load_ext jupyter_mltrain")
        execute(
            kc,
            "%%train --max-restarts 1 --grace 1\nimport sys, time, jupyter_mltrain as mt\n"
            "for i in range(40):\n    print('attempt', mt.attempt(), 'line', i, flush=True)\n"
            "    mt.log('m', i, step=i)\n    time.sleep(0.05)\n"
            "    if mt.attempt() == 1 and i == 9:\n        sys.exit(4)\n",
        )
        store = Store()
        deadline = time.monotonic() + 60
        while store.list()[0].attempt != 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.list()[0].attempt == 2 and store.list()[0].status == "Running"
        km.restart_kernel(now=True)  # SIGKILL during attempt 2, then a fresh kernel
        kc.wait_for_ready(timeout=60)
        execute(kc, "%load_ext jupyter_mltrain\n%train_attach --wait")
        report = execute(
            kc,
            "m = get_ipython().magics_manager.registry['TrainMagics']\n"
            "w = m.widgets[m.last_run_id]\n"
            "logs = w.history['logs']['0']\n"
            "print(w.status, logs[0], '|', logs[-1], '|', sum('attempt 2 of 2' in line for line in logs),\n"
            "      *(len([x for x in w.run.metrics(every_attempt=e) if x['name'] == 'm']) for e in (False, True)))",
        )
        assert report.split("|")[0].split() == ["Completed", "attempt", "1", "line", "0"]
        assert report.split("|")[1].strip() == "attempt 2 line 39"
        assert report.split("|")[2].split() == ["1", "40", "50"]  # the banner; steps 0-39 once; 10 + 40 in all
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
